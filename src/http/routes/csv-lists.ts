/**
 * Lists as CSV: the succession of an office, an organization's documents (in force on
 * `validAt`, when given), its sessions, and a session's attendees answer `text/csv` when asked
 * (`Accept: text/csv`, or `format=csv` for a link a browser follows). The CSV is the very
 * answer the JSON would be (same time controls, filters and page), turned into rows by a
 * preSerialization hook, so the two never disagree. Also the attendees list itself.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Source } from '../../../events/index.js';
import type { CorrectedBy, DocumentItem, EntityView, HolderItem, SessionView } from '../../../projections/index.js';
import { paginate } from '../../../projections/query-context.js';
import type { Runtime } from '../../runtime.js';
import { toCsv, wantsCsv, type Column } from '../csv.js';
import { ListQuery, RefParam, allUnless, found, readContext, typed, type Guards } from './reads-common.js';

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

const provenance = <T extends { factId: string; correctedBy?: CorrectedBy; source?: Source | null }>(): Column<T>[] => [
  { header: 'fact_id', value: (t) => t.factId },
  { header: 'corrected_by', value: (t) => t.correctedBy?.factId ?? null },
  { header: 'correction_reason', value: (t) => t.correctedBy?.reason ?? null },
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
    { header: 'fact_id', value: (d) => d.factId },
    { header: 'corrected_by', value: (d) => d.correctedBy?.factId ?? null },
    { header: 'correction_reason', value: (d) => d.correctedBy?.reason ?? null },
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
  items: (b) => b['attendees'] as Attendee[],
  columns: [
    ...entity<Attendee>('person', (a) => a.person),
    ...entity<Attendee>('representing', (a) => a.representing),
    ...entity<Attendee>('office', (a) => a.office),
    { header: 'fact_id', value: (a) => a.factId },
    { header: 'corrected_by', value: (a) => a.correctedBy?.factId ?? null },
    { header: 'correction_reason', value: (a) => a.correctedBy?.reason ?? null },
  ],
  name: (req) => stem(param(req, 'session'), 'attendees', queryOf(req)['knownAt']),
};

/** Route URL → how its list becomes CSV. */
export const CSV_LISTS: ReadonlyMap<string, CsvList<never>> = new Map<string, CsvList<never>>([
  ['/v1/offices/:office/holders', holders as unknown as CsvList<never>],
  ['/v1/documents', documents as unknown as CsvList<never>],
  ['/v1/sessions', sessions as unknown as CsvList<never>],
  ['/v1/sessions/:session/attendees', attendees as unknown as CsvList<never>],
]);

const CSV_NOTE = ' Answers text/csv too (Accept: text/csv, or format=csv): the same list, one row per item, with the same time controls, filters and page.';

function formatOf(req: FastifyRequest): string | null {
  const q = req.url.indexOf('?');
  return q < 0 ? null : new URLSearchParams(req.url.slice(q + 1)).get('format');
}

/** Registers the CSV hooks; call before the list routes are added (onRoute documents them). */
export function csvLists(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!CSV_LISTS.has(route.url) || route.method !== 'GET') return;
    const schema = (route.schema ?? {}) as { description?: string };
    route.schema = { ...schema, description: `${schema.description ?? ''}${CSV_NOTE}`.trim() };
  });
  // A callback hook, not an async one: it runs for every JSON answer, and most are not lists.
  app.addHook('preSerialization', (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, value?: unknown) => void) => {
    const spec = CSV_LISTS.get(req.routeOptions.url ?? '');
    if (!spec || reply.statusCode !== 200) return done(null, payload);
    // Beside any Vary another part set (compression: Accept-Encoding).
    const vary = reply.getHeader('vary');
    if (vary === undefined) reply.header('vary', 'accept');
    else if (!/\baccept\b(?!-)/i.test(String(vary))) reply.header('vary', `${String(vary)}, accept`);
    if (!wantsCsv(req.headers.accept, formatOf(req))) return done(null, payload);
    const body = payload as Record<string, unknown>;
    const csv = toCsv(spec.items(body), spec.columns);
    const next = body['nextCursor'];
    if (typeof next === 'string' && !reply.hasHeader('link')) {
      const url = new URL(req.url, 'http://x');
      url.searchParams.set('cursor', next);
      reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
    }
    reply.type('text/csv; charset=utf-8; header=present');
    reply.header('content-disposition', `attachment; filename="${spec.name(req) || 'list'}.csv"`);
    reply.serializer((p: unknown) => p as string);
    done(null, csv);
  });
}

/** GET /v1/sessions/{session}/attendees: who attended, whom they represented, in what capacity. */
export async function attendeeRoutes(app: FastifyInstance, runtime: Runtime, g: Guards): Promise<void> {
  typed(app).get(
    '/v1/sessions/:session/attendees',
    { preHandler: g.read, schema: { tags: ['reads'], summary: 'Who attended a session, representing whom, in what capacity (in the order recorded)', description: 'All of them; limit= (with cursor=) pages opt-in.', params: RefParam('session'), querystring: ListQuery } },
    async (req) => {
      const { knownAt } = await readContext(runtime, req.query);
      const ref = req.params['session'] as string;
      const session = found(runtime.readModels.queries.session(ref, knownAt), 'session', ref, knownAt);
      const keyed = session.attendees.map((item, i) => ({ item, key: String(i).padStart(10, '0') }));
      const page = paginate(keyed, (x) => x.key, req.query.cursor, allUnless(req.query.limit));
      return { session: { id: session.id, key: session.key, title: session.title }, validAt: null, knownAt, attendees: page.items.map((x) => x.item), nextCursor: page.nextCursor };
    },
  );
}
