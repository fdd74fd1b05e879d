/**
 * The feed's `organization=` filter: the facts about an organization, its bodies, offices and
 * sessions (and documents), with the corrections and retractions of such facts.
 *
 * When a fact is about the organization is decided at the fact's place in the log, never at
 * the moment a client happens to read it: a stream that resumes after position P (a
 * reconnection, another server) must send exactly what a stream that never stopped sent
 * after P. So every decision is a function of the log up to the fact's position:
 *
 * - The scope S(Q) after the event at Q: the organization, every organization whose parent is
 *   in it, and the offices, sessions and documents of those, counting every version written
 *   up to Q (a correction that moves a body under the organization brings it in; nothing
 *   leaves: an entity retracted later still counts, as in GET /v1/changes).
 * - A fact at Q is about the organization when it creates an entity of S(Q) or names one in
 *   its data (any reference of the catalogue: `chair`, `appointedBy`, `representing`, …).
 * - A correction or retraction at Q is when the fact it amends is: that fact's id is in S(Q),
 *   or a version of it up to Q (as first recorded, or a replacement, this one included) names
 *   one of S(Q). So a correction that takes a fact out of the scope is still sent: the client
 *   saw the fact and must learn it changed.
 *
 * How: a stream starts from S computed by the read models at its first event's position
 * (entity versions carry their event's position; the read models are waited for up to it),
 * then follows the log itself: a creating fact whose parent is in S joins S synchronously, on
 * the hub's live path. What needs the log or the read models (the first event, an amendment,
 * a correction of an entity that may move a subtree) answers with a promise: the stream then
 * leaves the hub and reads on from the log (feed-hub.ts), so nothing is decided out of order.
 */
import { createdKind, isFactType, refSites, upcast, type EntityKind, type FactType } from '../../../events/index.js';
import { scopeAtPosition } from '../../../projections/facts/queries.js';
import type { ReadModels } from '../../../projections/index.js';
import { versionData } from '../../audit/changes.js';
import type { EventStore, Position, StoredEvent } from '../../store/port.js';

/** Where each kind in an organization's scope names its parent (as projections/entities/evolve.ts reads it). */
const PARENT: Partial<Record<EntityKind, string>> = { organization: 'parent', office: 'organization', session: 'body', document: 'body' };

/** Beyond every recording time: an amendment's versions are bounded by position instead. */
const EVER = '9999-12-31T23:59:59.999Z';

type Data = Record<string, unknown>;

export interface OrganizationFilterOptions {
  readonly store: Pick<EventStore, 'readStream'>;
  readonly readModels: Pick<ReadModels, 'queries' | 'waitFor'>;
  /** How long to wait for the read models to reach a position before the stream ends (its client resumes). */
  readonly waitMs: number;
}

export class OrganizationFilter {
  /** S at the last event decided; null before the first. */
  private scope: Set<string> | null = null;
  /** The decision being made for one event (the live path and the catch-up that follows it share it). */
  private pending: { position: Position; answer: Promise<boolean> } | null = null;

  constructor(
    /** The organization's id. */
    readonly organization: string,
    private readonly o: OrganizationFilterOptions,
  ) {}

  /** Is this fact (a fact type, in log order, each once) about the organization? A promise when the log or the read models must be read. */
  wants(e: StoredEvent & { type: FactType }): boolean | Promise<boolean> {
    if (this.pending?.position === e.position) return this.pending.answer;
    if (this.scope !== null && e.type !== 'FactCorrected' && e.type !== 'FactRetracted') return this.decide(this.scope, e);
    const answer = this.lookUp(e);
    this.pending = { position: e.position, answer };
    return answer;
  }

  /** A fact that amends nothing, against S before it; S takes in the entity it creates. */
  private decide(scope: Set<string>, e: StoredEvent & { type: FactType }): boolean {
    const meta = e.metadata as { factId?: string; schemaVersion?: number };
    const data = upcast(e.type, e.data, meta.schemaVersion) as Data;
    const kind = createdKind(e.type);
    const parentField = kind === undefined ? undefined : PARENT[kind];
    // A DocumentAdopted that names its document creates nothing (entities/evolve.ts).
    const creates = parentField !== undefined && !(e.type === 'DocumentAdopted' && data['document'] !== undefined);
    const parent = creates ? data[parentField] : undefined;
    if (meta.factId !== undefined && typeof parent === 'string' && scope.has(parent)) scope.add(meta.factId);
    return (meta.factId !== undefined && scope.has(meta.factId)) || names(scope, e.type, data);
  }

  private async lookUp(e: StoredEvent & { type: FactType }): Promise<boolean> {
    const { queries } = this.o.readModels;
    if (!(await this.o.readModels.waitFor(e.position, this.o.waitMs))) {
      throw new Error(`the read models did not reach position ${e.position} within ${this.o.waitMs} ms`);
    }
    const amends = e.type === 'FactCorrected' || e.type === 'FactRetracted';
    const versions = amends ? queries.fact((e.data as { fact: string }).fact, EVER) : null;
    const type = versions?.fact.type;
    const moves = e.type === 'FactCorrected' && type !== undefined && isFactType(type) && createdKind(type) !== undefined;
    if (this.scope === null || moves) {
      // S(Q) from the read models, which now hold every version up to Q (this one included).
      this.scope = new Set(scopeAtPosition(queries.q, this.organization, e.position));
    }
    if (!amends) return this.decide(this.scope, e);
    /* c8 ignore next -- the write side refuses an amendment of a fact it does not hold */
    if (versions === null || type === undefined || !isFactType(type)) return false;
    if (this.scope.has(versions.fact.factId)) return true;
    // The fact as recorded, then each replacement up to this amendment (a correction's own included).
    const refs = [versions.fact, ...versions.amendments.filter((a) => a.type === 'FactCorrected' && a.position <= e.position)];
    for (const ref of refs) {
      const data = await versionData(this.o.store, ref, type);
      if (data !== null && names(this.scope, type, data)) return true;
    }
    return false;
  }
}

const names = (scope: ReadonlySet<string>, type: FactType, data: Data): boolean => refSites(type, data).some((s) => scope.has(s.value));
