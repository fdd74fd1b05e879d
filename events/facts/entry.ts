/**
 * What the catalogue says of each fact type, declared once beside its zod schema: where the
 * fact lives, which of its fields name it for good, and which entity each reference names.
 * Everything else that depends on the fact type (the request union, the stream a fact goes
 * to, the entity it creates, the references the recorder resolves, the fields a correction
 * may not change, which decider decides it) is derived from these entries (index.ts).
 */
import type { z } from 'zod';
import type { EntityKind, StreamKind } from '../streams.js';

/** The top-level fields of a schema's data. */
export type Field<S extends z.ZodType> = Extract<keyof z.output<S>, string>;

/**
 * Where a fact lives (DESIGN.md, "Facts"). `own`: a stream of its own, `<own>-<factId>`; when
 * `own` is an entity kind, the fact creates that entity (its factId is the entity's id, its
 * `key` is reserved). `in`/`by`: the stream of the entity `data[by]` names; when `by` is an
 * optional field and absent, the fact has a stream of its own (`own`). `amends`: the stream
 * of the fact `data[amends]` names (corrections and retractions).
 */
export type StreamRule<F extends string> =
  | { readonly own: StreamKind; readonly in?: never; readonly amends?: never }
  | { readonly in: EntityKind; readonly by: F; readonly own?: StreamKind; readonly amends?: never }
  | { readonly amends: F; readonly own?: never; readonly in?: never };

export interface FactEntry<S extends z.ZodType = z.ZodType> {
  /** The fact's `data`, as a client sends it and the log keeps it. */
  readonly data: S;
  readonly stream: StreamRule<Field<S>>;
  /**
   * The fields a correction may not change: those that place the fact in its stream and the
   * key that names it for good. To move a fact, retract it and record a new one.
   */
  readonly identity: readonly Field<S>[];
  /**
   * Every entity reference in `data` and the kind of entity it must name, by path
   * (`chairedBy.person`; `*` walks an array: `participants.*.person`). The recorder resolves
   * each (a key or an id) to the id of a standing entity of that kind before deciding.
   */
  readonly refs: { readonly [P in Field<S> | `${Field<S>}.${string}`]?: EntityKind };
}

/** The references of an entry: the kind of entity at each path. */
export type Refs<S extends z.ZodType> = { readonly [P in Field<S> | `${Field<S>}.${string}`]?: EntityKind };

/**
 * Declares a catalogue entry; the schema's fields type the rest of it, and the stream rule and
 * the references keep their literal kinds (so the types a projection handles, derived from
 * them, are known to the compiler: catalogue.ts, TypesIn and TypesNaming).
 */
export function fact<S extends z.ZodType, const R extends StreamRule<Field<S>>, const F extends Refs<NoInfer<S>>>(entry: {
  readonly data: S;
  readonly stream: R;
  readonly identity: readonly NoInfer<Field<S>>[];
  // A path that starts at no field of the schema is refused (an inferred type is not checked for excess keys).
  readonly refs: F & { readonly [P in Exclude<keyof F, keyof Refs<S>>]: never };
}): Omit<FactEntry<S>, 'stream' | 'refs'> & { readonly stream: R; readonly refs: F } {
  return entry;
}
