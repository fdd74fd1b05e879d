/**
 * What each route answers, as zod schemas: the OpenAPI document's response schemas (so a
 * generated client types every answer) and nothing else. They are not the serializer: reads
 * send JSON text already made (reads-answer.ts), and the rest is serialized as the handler
 * built it (app.ts, `asBuilt`), so a schema can never drop or reorder a field of an answer.
 * test/http-openapi.test.ts holds them to the truth: every answer of the worked example parses
 * under its route's schema to the very same JSON (no field undocumented, none out of order).
 *
 * Shapes follow the read models' types (projections/*) and API.md; fields a later version may
 * add are allowed by API.md ("more response fields"), so clients should not reject them.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';

const Day = z.string().describe('A partial date YYYY, YYYY-MM or YYYY-MM-DD');
const Moment = z.string().describe('RFC 3339 UTC with milliseconds');
const Certainty = z.enum(['certain', 'possible']).describe('possible: the term or date is known only partly, so the answer may or may not hold on the day asked');

/** An entity named in an answer: `{ id, key, name }` (`title` for offices and documents). */
export const EntityRef = z
  .object({ id: z.string(), key: z.string().nullable(), name: z.string().nullable().optional(), title: z.string().nullable().optional() })
  .describe('An entity named in an answer: id, key and its name (title for offices)');
const Ref = EntityRef.nullable();

const Source = z
  .object({ title: z.string(), publisher: z.string().optional(), url: z.string().optional(), publishedOn: Day.optional(), quote: z.string().optional() })
  .describe('Where the fact comes from');

export const CorrectedBy = z
  .object({ factId: z.string(), reason: z.string().nullable(), recordedAt: Moment })
  .describe('The latest correction of the fact known at knownAt');

const Term = z.object({ from: Day, to: Day.nullable() });
const Next = z.string().nullable().describe('The cursor of the next page (null on the last page)');
const Echo = { validAt: Day.nullable(), knownAt: Moment };

const Holder = z.object({
  person: Ref,
  term: Term,
  acting: z.boolean(),
  factId: z.string(),
  basis: z.enum(['appointed', 'attested']),
  source: Source.nullable(),
  session: Ref.optional().describe('Attested: the session where the person acted in the office'),
  capacity: z.string().optional().describe('Attested: how the session names the office'),
  certainty: Certainty,
  correctedBy: CorrectedBy.optional(),
});

const Office = z.object({ id: z.string(), key: z.string().nullable(), title: z.string().nullable(), organization: Ref, multipleHolders: z.boolean() });

const Organization = z.object({ id: z.string(), key: z.string().nullable(), name: z.string().nullable(), classification: z.string().nullable(), parent: Ref, aliases: z.array(z.string()) });
const Chair = z.object({ state: Ref, term: Term, certainty: Certainty, factId: z.string(), motto: z.string().nullable(), priorities: z.array(z.string()), source: Source.nullable(), correctedBy: CorrectedBy.optional() });
const Member = z.object({ member: Ref, term: Term, certainty: Certainty, factId: z.string(), correctedBy: CorrectedBy.optional() });

const Person = z.object({ id: z.string(), key: z.string().nullable(), name: z.string().nullable(), aliases: z.array(z.string()), factId: z.string() });
const Role = Holder.extend({ office: Ref, organization: Ref });

const Document = z.object({
  id: z.string(),
  key: z.string().nullable(),
  title: z.string().nullable(),
  kind: z.string().nullable(),
  status: z.enum(['adopted', 'considered']),
  adoptedOn: Day.nullable(),
  effective: Term.nullable(),
  period: z.object({ from: Day, to: Day }).nullable(),
  summary: z.string().nullable(),
  body: Ref,
  session: Ref,
  factId: z.string(),
  certainty: Certainty.optional().describe('With validAt: whether the document was surely in force then'),
  correctedBy: CorrectedBy.optional(),
});

const Attendee = z.object({ person: Ref, representing: Ref, office: Ref, factId: z.string(), correctedBy: CorrectedBy.optional() });
const Report = z.object({ person: Ref, office: Ref, subject: z.string().nullable(), factId: z.string(), correctedBy: CorrectedBy.optional() });
const Talks = z.object({ participants: z.array(z.object({ person: Ref, organization: Ref })), topics: z.array(z.string()), on: Day.nullable(), summary: z.string().nullable(), factId: z.string(), correctedBy: CorrectedBy.optional() });
const SessionLinks = z.object({ attendees: z.string(), reports: z.string(), documents: z.string(), talks: z.string() }).partial().describe('Links to the rest of each list that goes on past its first page');
const Session = z.object({
  id: z.string(),
  key: z.string().nullable(),
  title: z.string().nullable(),
  number: z.string().nullable(),
  body: Ref,
  held: Term,
  place: z.object({ city: z.string(), country: Ref }).nullable(),
  chairedBy: z.object({ person: Ref, office: Ref }).nullable(),
  agenda: z.array(z.string()),
  attendees: z.array(Attendee),
  reports: z.array(Report),
  documents: z.array(Document),
  talks: z.array(Talks),
  factId: z.string(),
  correctedBy: CorrectedBy.optional(),
  more: SessionLinks.optional(),
});

const FactData = z.record(z.string(), z.unknown()).describe("The fact's data as recorded (its schema is the fact type's: see POST /v1/facts)");
const TimelineItem = z.object({ factId: z.string(), type: z.string(), date: Term, data: FactData, source: Source.nullable(), correctedBy: CorrectedBy.optional() });

export const HolderAnswer = z.object({ office: EntityRef, validAt: Day, knownAt: Moment, holders: z.array(Holder) });
export const HoldersAnswer = z.object({ office: EntityRef, ...Echo, holders: z.array(Holder), nextCursor: Next });
export const OfficeAnswer = z.object({ office: Office, validAt: Day, knownAt: Moment, holders: z.array(Holder) });
export const OfficesAnswer = z.object({ ...Echo, offices: z.array(Office), nextCursor: Next });

export const OrganizationsAnswer = z.object({ ...Echo, organizations: z.array(Organization), nextCursor: Next });
export const OrganizationAnswer = z.object({
  organization: Organization.extend({
    correctedBy: CorrectedBy.optional(),
    bodies: z.array(Organization),
    offices: z.array(Office),
    members: z.array(Member),
    chairs: z.array(Chair),
    more: z.object({ bodies: z.string(), offices: z.string(), members: z.string(), chairs: z.string() }).partial().optional().describe('Links to the rest of each list that goes on past its first page'),
  }),
  ...Echo,
});
export const ChairAnswer = z.object({ organization: EntityRef, validAt: Day, knownAt: Moment, chairs: z.array(Chair) });
export const ChairsAnswer = z.object({ ...Echo, chairs: z.array(Chair), nextCursor: Next });
export const MembersAnswer = z.object({ ...Echo, members: z.array(Member), nextCursor: Next });

export const PeopleAnswer = z.object({ ...Echo, people: z.array(Person), nextCursor: Next });
export const PersonAnswer = z.object({
  person: Person.extend({ correctedBy: CorrectedBy.optional(), roles: z.array(Role), more: z.object({ roles: z.string() }).partial().optional() }),
  ...Echo,
});
export const RolesAnswer = z.object({ ...Echo, roles: z.array(Role), nextCursor: Next });
export const TimelineAnswer = z.object({ organization: EntityRef, from: Day.nullable(), to: Day.nullable(), ...Echo, facts: z.array(TimelineItem), nextCursor: Next });

export const SessionsAnswer = z.object({ ...Echo, sessions: z.array(Session), nextCursor: Next });
export const SessionAnswer = z.object({ session: Session, ...Echo });
export const SessionListAnswer = z.object({
  session: z.string().describe('As asked (an id or a key)'),
  list: z.enum(['attendees', 'reports', 'documents', 'talks']),
  ...Echo,
  items: z.array(z.union([Attendee, Report, Document, Talks])).describe('Attendees, reports, documents or talks, as `list` says'),
  nextCursor: Next,
});
export const DocumentsAnswer = z.object({ ...Echo, documents: z.array(Document), nextCursor: Next });
export const DocumentAnswer = z.object({ document: Document, ...Echo });

const Version = z.object({
  kind: z.enum(['original', 'correction', 'retraction']),
  factId: z.string(),
  type: z.string(),
  recordedAt: Moment,
  recordedBy: z.string().nullable().describe('`<role>:<token fingerprint>`'),
  data: FactData.nullable(),
  reason: z.string().nullable(),
  source: Source.nullable(),
  stream: z.string(),
  revision: z.int(),
  position: z.string(),
});
export const FactHistoryAnswer = z.object({
  factId: z.string(),
  asked: z.string(),
  type: z.string(),
  knownAt: Moment,
  status: z.enum(['recorded', 'corrected', 'retracted']),
  current: FactData.nullable(),
  versions: z.array(Version),
});

const Change = z.object({
  kind: z.enum(['recorded', 'correction', 'retraction']),
  factId: z.string(),
  type: z.string(),
  position: z.string(),
  recordedAt: Moment,
  recordedBy: z.string().nullable(),
  stream: z.string(),
  revision: z.int(),
  data: FactData.nullable().describe("The fact's data as recorded (for a correction: { fact, data, reason })"),
  source: Source.nullable(),
  fact: z.object({ factId: z.string(), type: z.string() }).optional().describe('An amendment: the fact it amends (a correction of a correction names the original)'),
  before: FactData.nullable().optional().describe('An amendment: the version it replaced or withdrew'),
  after: FactData.nullable().optional().describe('A correction: its replacement data (null for a retraction)'),
  reason: z.string().nullable().optional(),
});
export const ChangesAnswer = z.object({ since: Moment, until: Moment, organization: z.string().nullable(), changes: z.array(Change), nextCursor: Next });

// The audit log (src/audit).
const SignedHead = z.object({
  format: z.string(),
  leafFormat: z.string(),
  treeSize: z.int(),
  rootHash: z.string().describe('Lowercase hex SHA-256 root (RFC 9162) of the first treeSize leaves'),
  lastPosition: z.string().nullable(),
  timestamp: Moment,
  keyId: z.string(),
  signature: z.string().describe('Base64 Ed25519 signature'),
});
const PublicKey = z.object({ keyId: z.string(), algorithm: z.string().describe('Ed25519'), pem: z.string().describe('SPKI PEM') });
const Tree = z.object({ treeSize: z.int(), lastPosition: z.string().nullable(), rootHash: z.string() });
export const TreeHeadAnswer = z.object({
  head: SignedHead.nullable(),
  tree: Tree,
  publicKey: PublicKey,
  hashAlgorithm: z.string(),
  leafFormat: z.string(),
  signatureAlgorithm: z.string(),
  checkpoint: z.object({ origin: z.string(), verifierKey: z.string(), format: z.string() }).nullable().describe('The C2SP checkpoint of the same head (GET /v1/audit/checkpoint): its origin and verifier key; null while the log is empty and no origin is configured'),
});
export const SignedHeadAnswer = z.object({ head: SignedHead });
export const TreeHeadsAnswer = z.object({ heads: z.array(SignedHead), publicKey: PublicKey });
export const WitnessAnswer = z.object({
  configured: z.boolean(),
  url: z.string().optional(),
  lastPushed: z.object({ treeSize: z.int(), rootHash: z.string(), timestamp: Moment }).nullable().optional(),
  pushedAt: Moment.nullable().optional(),
  failures: z.int().optional(),
  totalFailures: z.int().optional(),
  lastError: z.string().nullable().optional(),
  nextAttemptAt: Moment.nullable().optional(),
});
export const InclusionAnswer = z.object({ leafFormat: z.string(), position: z.string(), leafIndex: z.int(), treeSize: z.int(), leafHash: z.string(), rootHash: z.string(), auditPath: z.array(z.string()), head: SignedHead.nullable() });
export const ConsistencyAnswer = z.object({ fromSize: z.int(), toSize: z.int(), fromRootHash: z.string(), toRootHash: z.string(), proof: z.array(z.string()), fromHead: SignedHead.nullable(), toHead: SignedHead.nullable() });
const Divergence = z.object({ reason: z.string(), leafIndex: z.int(), position: z.string(), recorded: z.string().optional(), recomputed: z.string().optional(), detail: z.string() });
const BadHead = z.object({ reason: z.string(), head: SignedHead, recomputedRootHash: z.string().optional(), detail: z.string() });
export const VerifyAnswer = z
  .object({
    ok: z.boolean(),
    startedAt: Moment,
    finishedAt: Moment,
    eventsRead: z.int(),
    treeSize: z.int(),
    rootHash: z.string(),
    unaudited: z.int(),
    headsChecked: z.int(),
    headsFailed: z.int(),
    leavesFailed: z.int(),
    firstDivergence: Divergence.nullable().describe('The first place the log and the recorded tree disagree'),
    firstBadHead: BadHead.nullable().describe('The first signed head the log no longer matches'),
    firstBadNode: z.object({ level: z.int(), index: z.int(), detail: z.string() }).nullable().describe('The first stored subtree hash that differs from the recomputation'),
  })
  .describe('ok: every leaf, root and signed head holds; otherwise the first place they part ways');

// Admin.
export const ProjectionsAnswer = z.object({
  readModels: z.array(z.object({ name: z.string(), version: z.int(), tables: z.array(z.string()) })),
  state: z.string(),
  caughtUpOnce: z.boolean(),
  checkpoint: z.string().nullable(),
  applied: z.int(),
  head: z.string().nullable(),
  lag: z.object({ events: z.int(), capped: z.boolean(), seconds: z.number() }),
  parked: z.object({ count: z.int(), events: z.array(z.object({ position: z.string(), eventId: z.string(), type: z.string(), factId: z.string().nullable(), error: z.string() })) }),
  rebuilding: z.boolean(),
  lastError: z.string().nullable(),
});
export const RebuildAnswer = z.object({
  status: z.literal('rebuilt'),
  events: z.int(),
  elapsedMs: z.number(),
  eventsPerSecond: z.number(),
  position: z.string().nullable(),
  phases: z.array(z.object({ phase: z.string(), ms: z.number(), cpuMs: z.number(), thread: z.enum(['terms', 'build']).optional().describe('terms: the phase ran on the terms\' own thread beside the build (its times are that thread\'s, not on the build\'s path); build: a part of the phase after it, timed apart') })).optional().describe('Each phase of the bulk build in order, with its wall and CPU time (milliseconds)'),
});

/** 304: If-None-Match named the answer's ETag; no body (openapi.ts documents it on every read). */
export const NotModified = z.undefined().describe('Not modified: If-None-Match named the current ETag');

/** Answers sent as a stream or as text in another media type: a string in the document, a string or a stream to send. */
export const text = (mediaType: string, description: string) => ({ description, content: { [mediaType]: { schema: z.custom<string | Readable>(() => true).meta({ type: 'string' }) } } });
