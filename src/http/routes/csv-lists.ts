/**
 * Lists as CSV: the succession of an office, an organization's documents (in force on
 * `validAt`, when given), its sessions, and a session's attendees answer `text/csv` when asked
 * (`Accept: text/csv`, or `format=csv` for a link a browser follows). The CSV is the very
 * answer the JSON would be (same time controls, filters and page), turned into rows where the
 * answer is sent (reads-answer.ts), so the two never disagree; the next page is linked
 * (`Link: rel="next"`) as for JSON. A page, not the whole list: a client follows the links.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Source } from '../../../events/index.js';
import type { CorrectedBy, DocumentItem, EntityView, HolderItem, SessionView } from '../../../projections/index.js';
import { toCsv, wantsCsv, type Column } from '../csv.js';

type Attendee = SessionView['attendees'][number] & { correctedBy?: CorrectedBy };

interface CsvList<T> {
  /** The list in the JSON answer. */
  readonly items: (body: Record<string, unknown>) => T[];
  readonly columns: readonly Column<T>[];
  /** The file name's stem, from the request. */
  readonly name: (req: FastifyRequest) => string;
}

const entity = <T>(prefix: string, get: (t: T) => EntityView | null | undefined): Column<T>[] => [
  { header: prefix, value: (t) => get(t)?.name ?? get(t)?.title ?? null },
  { header: `${prefix}_key`, value: (t) => get(t)?.key ?? null },
  { header: `${prefix}_id`, value: (t) => get(t)?.id ?? null },
];

/** The fact a row stands for, and the correction that replaced it, if any. */
const corrections = <T extends { factId: string; correctedBy?: CorrectedBy }>(): Column<T>[] => [
  { header: 'fact_id', value: (t) => t.factId },
  { header: 'corrected_by', value: (t) => t.correctedBy?.factId ?? null },
  { header: 'correction_reason', value: (t) => t.correctedBy?.reason ?? null },
];

/** corrections(), then the fact's source. */
const provenance = <T extends { factId: string; correctedBy?: CorrectedBy; source?: Source | null }>(): Column<T>[] => [
  ...corrections<T>(),
  { header: 'source_title', value: (t) => t.source?.title ?? null },
  { header: 'source_publisher', value: (t) => t.source?.publisher ?? null },
  { header: 'source_published_on', value: (t) => t.source?.publishedOn ?? null },
  { header: 'source_url', value: (t) => t.source?.url ?? null },
  { header: 'source_quote', value: (t) => t.source?.quote ?? null },
];

const param = (req: FastifyRequest, name: string): string => String((req.params as Record<string, unknown>)[name] ?? '');
const queryOf = (req: FastifyRequest): Record<string, unknown> => (req.query ?? {}) as Record<string, unknown>;
const stem = (...parts: (unknown | undefined)[]): string =>
  parts
    .filter((p) => typeof p === 'string' && p !== '')
    .join('-')
    .replace(/[^A-Za-z0-9._-]+/g, '_');

const holders: CsvList<HolderItem> = {
  items: (b) => b['holders'] as HolderItem[],
  columns: [
    ...entity<HolderItem>('person', (h) => h.person),
    { header: 'from', value: (h) => h.term.from },
    { header: 'to', value: (h) => h.term.to },
    { header: 'acting', value: (h) => h.acting },
    { header: 'basis', value: (h) => h.basis },
    { header: 'certainty', value: (h) => h.certainty },
    { header: 'capacity', value: (h) => h.capacity ?? null },
    { header: 'session_id', value: (h) => h.session?.id ?? null },
    ...provenance<HolderItem>(),
  ],
  name: (req) => stem(param(req, 'office'), 'holders', queryOf(req)['knownAt']),
};

const documents: CsvList<DocumentItem & { correctedBy?: CorrectedBy }> = {
  items: (b) => b['documents'] as DocumentItem[],
  columns: [
    { header: 'title', value: (d) => d.title },
    { header: 'key', value: (d) => d.key },
    { header: 'id', value: (d) => d.id },
    { header: 'kind', value: (d) => d.kind },
    { header: 'status', value: (d) => d.status },
    { header: 'adopted_on', value: (d) => d.adoptedOn },
    { header: 'effective_from', value: (d) => d.effective?.from ?? null },
    { header: 'effective_to', value: (d) => d.effective?.to ?? null },
    { header: 'period_from', value: (d) => d.period?.from ?? null },
    { header: 'period_to', value: (d) => d.period?.to ?? null },
    { header: 'certainty', value: (d) => d.certainty ?? null },
    ...entity<DocumentItem>('body', (d) => d.body),
    { header: 'session_id', value: (d) => d.session?.id ?? null },
    ...corrections<DocumentItem & { correctedBy?: CorrectedBy }>(),
  ],
  name: (req) => stem(String(queryOf(req)['organization'] ?? ''), 'documents', queryOf(req)['validAt'], queryOf(req)['knownAt']),
};

const sessions: CsvList<SessionView & { correctedBy?: CorrectedBy }> = {
  items: (b) => b['sessions'] as SessionView[],
  columns: [
    { header: 'title', value: (s) => s.title },
    { header: 'key', value: (s) => s.key },
    { header: 'id', value: (s) => s.id },
    ...entity<SessionView>('body', (s) => s.body),
    { header: 'from', value: (s) => s.held.from },
    { header: 'to', value: (s) => s.held.to },
    { header: 'city', value: (s) => s.place?.city ?? null },
    { header: 'country', value: (s) => s.place?.country?.name ?? null },
    { header: 'chaired_by', value: (s) => s.chairedBy?.person?.name ?? null },
    { header: 'attendees', value: (s) => s.attendees.length },
    { header: 'fact_id', value: (s) => s.factId },
    { header: 'corrected_by', value: (s) => s.correctedBy?.factId ?? null },
  ],
  name: (req) => stem(String(queryOf(req)['organization'] ?? ''), 'sessions', queryOf(req)['validAt'], queryOf(req)['knownAt']),
};

const attendees: CsvList<Attendee> = {
  items: (b) => b['items'] as Attendee[],
  columns: [
    ...entity<Attendee>('person', (a) => a.person),
    ...entity<Attendee>('representing', (a) => a.representing),
    ...entity<Attendee>('office', (a) => a.office),
    ...corrections<Attendee>(),
  ],
  name: (req) => stem(param(req, 'session'), 'attendees', queryOf(req)['knownAt']),
};

const SESSION_LISTS = '/v1/sessions/:session/:list';

/** Route URL → how its list becomes CSV. */
export const CSV_LISTS: ReadonlyMap<string, CsvList<never>> = new Map<string, CsvList<never>>([
  ['/v1/offices/:office/holders', holders as unknown as CsvList<never>],
  ['/v1/documents', documents as unknown as CsvList<never>],
  ['/v1/sessions', sessions as unknown as CsvList<never>],
  // The session's lists: attendees only (csvOf).
  [SESSION_LISTS, attendees as unknown as CsvList<never>],
]);

const CSV_NOTE = ' Answers text/csv too (Accept: text/csv, or format=csv; for a session\'s lists, attendees only): the same page as the JSON, one row per item, with the same time controls and filters; while more remain, the `Link: <…>; rel="next"` header carries the cursor to the next page (the CSV has no nextCursor field).';

function formatOf(req: FastifyRequest): string | null {
  const q = req.url.indexOf('?');
  if (q < 0) return null;
  const search = req.url.slice(q + 1);
  // No name that is or may decode to `format` (an escape in it): none, without parsing the query (~1 µs a list).
  let mayName = false;
  for (const pair of search.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (name === 'format' || name.includes('%')) mayName = true;
  }
  return mayName ? new URLSearchParams(search).get('format') : null;
}

/** Documents the CSV answers on the list routes; call before they are added (onRoute). */
export function csvLists(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!CSV_LISTS.has(route.url) || route.method !== 'GET') return;
    const schema = (route.schema ?? {}) as { description?: string };
    route.schema = { ...schema, description: `${schema.description ?? ''}${CSV_NOTE}`.trim() };
  });
}

/**
 * The answer as CSV when the route is a CSV list and the client asks for it (null: answer
 * JSON); `body` is asked for only then (a JSON answer makes no copy of it). Called by sendAnswer, which sends answers as text (so no serialization hook sees
 * them); the Link header to the next page was set with the JSON's nextCursor already.
 */
export function csvOf(req: FastifyRequest, reply: FastifyReply, body: () => Record<string, unknown>): string | null {
  const url = req.routeOptions.url ?? '';
  const spec = CSV_LISTS.get(url);
  if (!spec) return null;
  if (url === SESSION_LISTS && param(req, 'list') !== 'attendees') return null;
  varyOnAccept(reply);
  if (!asksCsv(req)) return null;
  reply.header('content-disposition', `attachment; filename="${spec.name(req) || 'list'}.csv"`);
  return toCsv(spec.items(body()), spec.columns);
}

/** `Vary: accept` on a list that may answer CSV, beside any Vary another part set (compression: Accept-Encoding). */
export function varyOnAccept(reply: FastifyReply): void {
  const vary = reply.getHeader('vary');
  if (vary === undefined) reply.header('vary', 'accept');
  else if (!/\baccept\b(?!-)/i.test(String(vary))) reply.header('vary', `${String(vary)}, accept`);
}

/** Does the request ask for CSV (`format=csv`, or an Accept that prefers text/csv)? */
export const asksCsv = (req: FastifyRequest): boolean => wantsCsv(req.headers.accept, formatOf(req));

export const CSV_TYPE = 'text/csv; charset=utf-8; header=present';
