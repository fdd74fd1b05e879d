/**
 * The request to record one fact, as API.md gives it: `{ type, factId?, data, source }`,
 * strict everywhere (an unknown field is refused). One zod schema per fact type, joined on
 * `type`, so `data` is checked against its type's schema and a bad field is named by its path
 * in the body (`data.term.to`). The HTTP route and the batch use the same schema.
 */
import { z, type ZodError } from 'zod';
import { FACT_TYPES, Source, Ulid, factSchemas, type FactType } from '../../events/index.js';
import type { FieldProblem } from '../domain/errors.js';
import { DomainError } from '../domain/errors.js';
import { acceptsAsIs } from './request-fast.js';

/**
 * A client's factId: a ULID, but not 26 zeros, which is the all-zero UUID as an event id: the
 * empty event id EventStoreDB refuses ("Empty eventId provided."). Refused on every store, so
 * the stores answer alike.
 */
const FactId = Ulid.refine((v) => v !== '0'.repeat(26), {
  message: 'a factId of 26 zeros is the empty event id, which the event store refuses; choose another ULID',
});

const envelope = <T extends FactType>(type: T) =>
  z.strictObject({
    type: z.literal(type),
    factId: FactId.optional().describe('A ULID chosen by the client (not 26 zeros); a retry with the same factId records nothing new'),
    data: factSchemas[type],
    source: Source,
  });

type Envelope = { [T in FactType]: ReturnType<typeof envelope<T>> }[FactType];
// Built type by type, so each envelope is its own type's (the compiler cannot follow a map over the union).
const envelopes = FACT_TYPES.map((type) => envelope(type) as Envelope);
const [first, ...rest] = envelopes;
/** Each type's envelope, the union's own: a batch's fact is checked against its type's (acceptsAsIs) before the union parses it. */
const envelopeOf = new Map<unknown, Envelope>(FACT_TYPES.map((type, i) => [type, envelopes[i] as Envelope]));

/** One envelope per fact type of the catalogue, in its order, joined on `type`. */
export const FactRequest = z
  .discriminatedUnion('type', [first as Envelope, ...rest])
  .describe('A fact to record: its type, optional factId, data and source');
export type FactRequest = z.output<typeof FactRequest>;

/**
 * Zod issues as `{ path, message }`, one per bad field: an unknown key is named by its own
 * path (`data.colour`), not its parent's.
 */
export function fieldProblems(error: ZodError, prefix: readonly (string | number)[] = []): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of error.issues) {
    const base = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: pathText([...base, key]), message: 'unknown field' });
    } else out.push({ path: pathText(base), message: issue.message });
  }
  return out;
}

export function pathText(path: readonly (string | number)[]): string {
  return path.length === 0 ? '(body)' : path.map(String).join('.');
}

export function invalidFields(errors: FieldProblem[]): DomainError {
  const head = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
  return new DomainError('invalid', errors.length > 3 ? `${head}; and ${errors.length - 3} more` : head, { errors });
}

/**
 * True when FactRequest would accept `body` and give it back unchanged (request-fast.ts): then
 * the body is the request as it is, with no copy built. False: ask zod (a refusal is zod's).
 */
export function factRequestAsIs(body: unknown): body is FactRequest {
  const schema = typeof body === 'object' && body !== null ? envelopeOf.get((body as { type?: unknown }).type) : undefined;
  return schema !== undefined && acceptsAsIs(schema, body);
}

/** Parses one fact of a batch; throws a 400 DomainError naming each bad field. */
export function parseFactRequest(body: unknown): FactRequest {
  // What zod would give back unchanged is taken as it is (request-fast.ts): no copy built a fact.
  if (factRequestAsIs(body)) return body;
  const parsed = FactRequest.safeParse(body);
  if (!parsed.success) throw invalidFields(fieldProblems(parsed.error));
  return parsed.data;
}
