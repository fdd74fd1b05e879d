/**
 * `GET /v1/facts/{factId}`: a fact with every version of it, as the record stood at
 * `knownAt`: the original, each correction (its replacement data, reason and moment) and a
 * retraction (its reason). The read models say where each version lives in the log
 * (projections/facts); the versions themselves are read from the log, so what is shown is
 * exactly what was recorded, source and recording principal included.
 *
 * Asked with the factId of a correction or retraction, it answers with the fact that one names
 * (`factId` is then that fact's; `asked` says which was asked for).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Ulid, isFactType, upcast, type Source } from '../../../events/index.js';
import type { FactRef } from '../../../projections/index.js';
import { FactHistoryAnswer } from '../answers.js';
import { ProblemError } from '../errors.js';
import { TimeQuery, readContext, typed} from './reads-common.js';
import { guards } from './reads-guards.js';

export interface FactHistoryVersion {
  kind: 'original' | 'correction' | 'retraction';
  factId: string;
  type: string;
  recordedAt: string;
  /** The principal that recorded it, `<role>:<token fingerprint>` (e.g. `recorder:1a2b3c4d`). */
  recordedBy: string | null;
  /** The data of the fact as this version states it (none for a retraction). */
  data: Record<string, unknown> | null;
  /** Why, for a correction or retraction. */
  reason: string | null;
  source: Source | null;
  stream: string;
  revision: number;
  position: string;
}

export interface FactHistory {
  factId: string;
  asked: string;
  type: string;
  knownAt: string;
  /** `retracted`, `corrected` (the latest correction is what reads show) or `recorded` (as first recorded). */
  status: 'recorded' | 'corrected' | 'retracted';
  /** What reads show now (the latest version's data); null once retracted. */
  current: Record<string, unknown> | null;
  versions: FactHistoryVersion[];
}

const KIND = { FactCorrected: 'correction', FactRetracted: 'retraction' } as const;

/** One version of the fact `original` (its type: a correction's replacement data is upcast as that type's). */
async function version(app: FastifyInstance, ref: FactRef, original: string): Promise<FactHistoryVersion> {
  const [event] = await app.store.readStream(ref.stream, { fromRevision: ref.revision, limit: 1 });
  const meta = (event?.metadata ?? {}) as { recordedBy?: string; source?: Source; schemaVersion?: number };
  const kind = ref.type === 'FactCorrected' || ref.type === 'FactRetracted' ? KIND[ref.type] : 'original';
  const data = event ? (upcast(event.type, event.data, meta.schemaVersion, () => (isFactType(original) ? original : undefined)) as Record<string, unknown>) : null;
  return {
    kind,
    factId: ref.factId,
    type: ref.type,
    recordedAt: ref.recordedAt,
    recordedBy: meta.recordedBy ?? null,
    data: kind === 'original' ? data : kind === 'correction' ? ((data?.['data'] as Record<string, unknown> | undefined) ?? null) : null,
    reason: ref.reason,
    source: meta.source ?? null,
    stream: ref.stream,
    revision: ref.revision,
    position: ref.position,
  };
}

/** The history of a fact as known at `knownAt`, or null when no such fact was recorded by then. */
export async function factHistory(app: FastifyInstance, factId: string, knownAt: string): Promise<FactHistory | null> {
  const found = app.readModels.queries.fact(factId, knownAt);
  if (!found) return null;
  const versions = await Promise.all([found.fact, ...found.amendments].map((ref) => version(app, ref, found.fact.type)));
  const last = versions.at(-1) as FactHistoryVersion;
  const latestData = [...versions].reverse().find((v) => v.kind !== 'retraction')?.data ?? null;
  return {
    factId: found.fact.factId,
    asked: factId,
    type: found.fact.type,
    knownAt,
    status: last.kind === 'retraction' ? 'retracted' : last.kind === 'correction' ? 'corrected' : 'recorded',
    current: last.kind === 'retraction' ? null : latestData,
    versions,
  };
}

export async function factHistoryRoutes(app: FastifyInstance): Promise<void> {
  const g = guards(app);
  typed(app).get(
    '/v1/facts/:factId',
    {
      preHandler: g.read,
      schema: {
        operationId: 'getFact',
        response: { 200: FactHistoryAnswer },
        tags: ['reads'],
        summary: 'One fact with every version of it: the original, each correction (reason, moment), a retraction',
        description:
          'As the record stood at knownAt (default now, or the recording time of the last event applied when later): versions recorded later are left out, and a fact recorded later is a 404. Asked with the factId of a correction or retraction, answers with the fact it names (`asked` echoes the factId asked for). Every version carries its source and who recorded it.',
        params: z.strictObject({ factId: Ulid }),
        querystring: TimeQuery,
      },
    },
    async (req) => {
      const { knownAt } = await readContext(app, req.query);
      const history = await factHistory(app, req.params.factId, knownAt);
      if (!history) throw new ProblemError('not-found', `no fact ${req.params.factId} is recorded at ${knownAt}`, { factId: req.params.factId, knownAt });
      return history;
    },
  );
}
