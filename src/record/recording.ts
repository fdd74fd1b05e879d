/**
 * One attempt at recording a list of facts (a batch, or a single fact as a batch of one).
 * `decide` takes the facts in order, each against the state the ones before it leave (a batch
 * can register a person and then appoint them); `commit` appends what was decided.
 *
 * Appending efficiently: the decided events are grouped into waves. Within a wave, consecutive
 * events of one stream go out as one append; the waves go to the store together
 * (EventStore.appendWaves), which the embedded store commits in one transaction. A fact
 * waits for a later wave only when it must follow something in the log: its own stream's
 * earlier events, the creation of an entity it names, or the reservation of its key. Every
 * append carries the expected revision the decision read, so a concurrent writer makes it
 * fail rather than both win.
 */
import {
  CREATING_TYPES, SCHEMA_VERSION, createdKind, refSites, derivedEventId, factSchemas, fieldOf, isEntityKind, isUlid, keyStream, parseStream,
  isAmendment, isAmendmentType, storedFact, streamOf, ulidToUuid, type Fact, type FactType, type KeyReserved, type RefSite,
} from '../../events/index.js';
import {
  DECIDERS, DomainError, cloneState, conflict, creation, evolveStream, initialStreamState, keyDecider, unresolved,
  type DomainEvent, type FieldProblem, type KeyState, type StreamEvent, type StreamState,
} from '../domain/index.js';
import type { AppendRequest, NewEvent, WaveOutcome } from '../store/port.js';
import type { FactIndex } from './fact-index.js';
import { replaceRefs } from './refs.js';
import { fieldProblems, invalidFields, pathText, type FactRequest } from './request.js';
import type { StateCache } from './states.js';
import { streamFor } from './streams.js';

export interface Prepared {
  readonly index: number;
  readonly request: FactRequest;
  readonly factId: string;
  readonly idempotencyKey?: string;
  /** True when this process made the factId up: the stream it creates cannot exist yet. */
  readonly generated?: boolean;
  /** `recordedBy`. */
  readonly principal: string;
  /** The request id: `correlationId`. */
  readonly correlationId: string;
}

export interface RecordedFact {
  factId: string;
  /** The entity the fact created (or, for an adoption of an existing document, that document). */
  id?: string;
  type: FactType;
  stream: string;
  revision: number;
  position: string;
  recordedAt: string;
  /** False when the factId was already recorded and this is the original result. */
  created: boolean;
}

interface Pending {
  readonly index: number;
  readonly stream: string;
  readonly wave: number;
  readonly event: NewEvent;
  readonly revision: number;
  /** Absent for a key reservation. */
  readonly type?: FactType;
  readonly factId?: string;
}

export interface RecordingDeps {
  readonly cache: StateCache;
  readonly index: FactIndex;
  /**
   * Takes this process's turn on a stream (released by `release()`). Given for a single fact:
   * requests to one stream then decide one after the other instead of racing and retrying.
   * A recording holds at most one such lock, so recordings never wait on each other in a cycle.
   */
  readonly lock?: (stream: string) => Promise<() => void>;
  /**
   * Decide on what this process already knows, without reading: cached states as they are,
   * unknown keys as free, known entities as standing. The appends' expected revisions catch
   * anything stale; the caller re-decides on fresh reads after a failed append or a refusal.
   */
  readonly optimistic?: boolean;
}

export interface CommitOutcome {
  readonly results: Map<number, RecordedFact>;
  readonly failure?: { readonly index: number; readonly error: unknown };
}

/** A reference's path in the body, for a refusal only: facts whose references resolve pay for no path text. */
const sitePath = (prefix: readonly string[], site: RefSite): string => pathText([...prefix, ...site.path]);

export class Recording {
  /** Committed states read in this attempt (one read per stream per attempt). */
  private readonly loaded = new Map<string, StreamState>();
  /** Clones this attempt decided into. */
  private readonly states = new Map<string, StreamState>();
  private readonly keys = new Map<string, KeyState>();
  /** The keys reserved since the last commit: the ones `commit` tells the cache of (the earlier parts' it was told of then). */
  private readonly partKeys: string[] = [];
  private readonly createdWave = new Map<string, number>();
  private readonly lastWave = new Map<string, number>();
  private readonly factStreams = new Map<string, string>();
  private readonly pending: Pending[] = [];
  private readonly duplicates = new Map<number, { stream: string; factId: string }>();
  /** Appends (runs of one stream's events in one wave) the pending events make: what `commit` sends. */
  private pendingAppends = 0;

  private readonly releases: Array<() => void> = [];
  /** The entity streams the fact being decided names: one set for the attempt, emptied for each fact (a Set a fact was ~1/20 of decide's allocation). */
  private readonly refs = new Set<string>();
  /** The 404 of a fact resolved as a retry past a retracted entity (resolveOrRetried), while it is decided. */
  private unresolvedRetry: DomainError | undefined;

  constructor(private readonly deps: RecordingDeps) {}

  release(): void {
    for (const r of this.releases.splice(0)) r();
  }

  get touched(): string[] {
    return [...this.states.keys()];
  }

  /** How many appends the facts decided since the last commit make (a fact adds at most two: its key's reservation and its own stream's events). */
  get appends(): number {
    return this.pendingAppends;
  }

  /** Decides one fact; throws DomainError when it is refused (nothing of it is kept). */
  async decide(item: Prepared): Promise<void> {
    const { request, factId } = item;
    const refs = this.refs;
    refs.clear();
    this.unresolvedRetry = undefined;
    let fact: Fact = request;
    let stream: string | null;
    if (isAmendment(request)) {
      // In the stream of the fact it names (the catalogue's `amends`).
      const target = request.data.fact;
      const found = this.factStreams.get(target) ?? this.deps.index.get(target) ?? (await this.deps.index.lookup(target));
      if (found === undefined) throw unresolved(`no recorded fact ${target}`, 'data.fact');
      stream = found;
      const original = (await this.state(stream)).facts.get(target);
      if (!original) throw unresolved(`no recorded fact ${target}`, 'data.fact');
      if (request.type === 'FactCorrected' && !isAmendmentType(original.type)) {
        const parsed = factSchemas[original.type].safeParse(request.data.data);
        if (!parsed.success) throw invalidFields(fieldProblems(parsed.error, ['data', 'data']));
        const replacement = await this.resolveOrRetried(original.type, parsed.data, ['data', 'data'], refs, factId);
        fact = { type: 'FactCorrected', data: { ...request.data, data: replacement } };
      }
    } else {
      fact = storedFact(request.type, await this.resolveOrRetried(request.type, request.data, ['data'], refs, factId));
      stream = streamFor(fact, factId);
    }
    if (stream === null) throw new Error(`${request.type} has no stream of its own: the catalogue places it in the stream of the fact it names`);

    if (this.deps.lock && this.releases.length === 0) {
      this.releases.push(await this.deps.lock(stream));
      // Read after our turn came: what was read before may be stale by now.
      if (!this.pending.some((p) => p.stream === stream)) {
        this.loaded.delete(stream);
        this.states.delete(stream);
      }
    }
    // A factId this process made up (item.generated) is recorded nowhere yet at a first,
    // optimistic attempt (as the stream it creates is taken not to exist, below): no look-up in
    // the index of every fact (a Map of a million entries, ~1/6 of decide's own time in a
    // batch). A retry looks, since an append split in parts may have stored some before failing.
    // (A single fact retried alone after its group's commit failed is a first attempt again and
    // does not look: a part already stored still refuses it, by its event ids and the stream's
    // expected revision `no_stream`.)
    const elsewhere = item.generated && this.deps.optimistic ? undefined : this.factStreams.get(factId) ?? this.deps.index.get(factId);
    if (elsewhere !== undefined && elsewhere !== stream) {
      // Resolved past a retracted entity for a retry only (resolveOrRetried): not one, so the 404 a new fact gets.
      if (this.unresolvedRetry !== undefined) throw this.unresolvedRetry;
      throw conflict(`factId ${factId} is already recorded as another fact (in ${elsewhere}); use a new factId`, factId);
    }
    const parsed = parseStream(stream);
    if (parsed === null) throw new Error(`${stream} is not an entity stream`);
    if (item.generated && parsed.id === factId && !this.states.has(stream)) this.states.set(stream, initialStreamState());
    const state = this.stateNow(stream) ?? (await this.state(stream));
    // A literal, not a spread of the fact: the same members (the fact is `{ type, data }`, or the
    // request of an amendment, whose factId and source these replace), without copying it.
    const decide = () => DECIDERS[parsed.kind].decide({ type: fact.type, data: fact.data, factId, source: request.source } as Fact & { factId: string; source: typeof request.source }, state);
    // Resolved past a retracted entity for a retry only: anything but the recorded fact is the 404 a new fact gets.
    const retried = this.unresolvedRetry;
    const decided = retried === undefined ? decide() : notARetry(decide, retried);
    if (decided.length === 0) {
      this.duplicates.set(item.index, { stream, factId });
      return;
    }

    // The key is reserved before the registration: refused here, nothing of the fact is kept.
    let reservation: KeyReserved | undefined;
    const created = createdKind(request.type);
    const key = fieldOf(fact, 'key');
    if (created && typeof key === 'string' && stream === streamOf(created, factId)) {
      const wanted: KeyReserved = { key, entityId: factId, entityKind: created, factId };
      const known = this.keys.get(key) ?? this.deps.cache.cachedKey(key) ?? (this.deps.optimistic ? keyDecider.initialState() : await this.deps.cache.loadKey(key));
      if (keyDecider.decide(wanted, known).length > 0) reservation = wanted;
    }

    let wave = this.lastWave.get(stream) ?? 0;
    for (const r of refs) {
      const w = this.createdWave.get(r);
      if (w !== undefined && r !== stream) wave = Math.max(wave, w + 1);
    }
    if (reservation) {
      const ks = keyStream(reservation.key);
      const keyLast = this.lastWave.get(ks);
      const keyWave = keyLast ?? 0;
      if (keyLast === undefined) this.pendingAppends++;
      this.lastWave.set(ks, keyWave);
      this.keys.set(reservation.key, { revision: 0, reservation });
      this.partKeys.push(reservation.key);
      this.pending.push({
        index: item.index,
        stream: ks,
        wave: keyWave,
        revision: 0,
        event: {
          id: derivedEventId(factId, 'key'),
          type: 'KeyReserved',
          data: reservation,
          // Deterministic, so a retried reservation is recognised by the store as the same event.
          metadata: { causationId: factId, recordedBy: item.principal, schemaVersion: SCHEMA_VERSION },
        },
      });
      wave = Math.max(wave, keyWave + 1);
    }
    if (state.revision === -1) this.createdWave.set(stream, wave);
    // A stream's pending events are in waves that never go down: a new wave for it is a new append.
    if (this.lastWave.get(stream) !== wave) this.pendingAppends++;
    this.lastWave.set(stream, wave);
    for (const e of decided) {
      const revision = state.revision + 1;
      // A literal of what evolveStream reads, not a spread of the decided event (whose members these are).
      evolveStream(state, { type: e.type, data: e.data, factId: e.factId, source: e.source, revision } as StreamEvent);
      const metadata: Record<string, unknown> = {
        factId: e.factId,
        recordedBy: item.principal,
        source: e.source,
        correlationId: item.correlationId,
        schemaVersion: SCHEMA_VERSION,
      };
      if (item.idempotencyKey !== undefined) metadata['idempotencyKey'] = item.idempotencyKey;
      this.pending.push({ index: item.index, stream, wave, revision, type: e.type, factId: e.factId, event: { id: ulidToUuid(e.factId), type: e.type, data: e.data, metadata } });
    }
    this.factStreams.set(factId, stream);
  }

  /**
   * Appends the waves (EventStore.appendWaves: the embedded store commits them all in one
   * transaction). The waves after the first one with a failed append are not attempted.
   */
  async commit(appendWaves: (waves: AppendRequest[][]) => Promise<WaveOutcome[][]>): Promise<CommitOutcome> {
    const results = new Map<number, RecordedFact>();
    const byWave = new Map<number, Map<string, Pending[]>>();
    for (const p of this.pending) {
      const wave = byWave.get(p.wave) ?? new Map<string, Pending[]>();
      byWave.set(p.wave, wave);
      const group = wave.get(p.stream) ?? [];
      wave.set(p.stream, group);
      group.push(p);
    }
    const waves = [...byWave.keys()].sort((a, b) => a - b).map((w) => [...(byWave.get(w) as Map<string, Pending[]>).entries()]);
    // Nothing to append (every fact a retry of a recorded one): the store is not touched.
    const outcomes = waves.length === 0 ? [] : await appendWaves(
      waves.map((groups) =>
        groups.map(([stream, group]) => {
          const first = (group[0] as Pending).revision - 1;
          return { stream, events: group.map((p) => p.event), expected: first < 0 ? 'no_stream' : first };
        }),
      ),
    );
    let failure: CommitOutcome['failure'];
    waves.forEach((groups, w) => {
      (outcomes[w] as WaveOutcome[]).forEach((outcome, g) => {
        const [stream, group] = groups[g] as [string, Pending[]];
        if (outcome.status === 'skipped') return;
        // An append split to fit the store's limit may have stored its first parts before failing.
        const stored = outcome.status === 'fulfilled' ? outcome.value.events : outcome.stored?.events ?? [];
        if (outcome.status === 'rejected') {
          const index = (group[stored.length] as Pending).index;
          if (!failure || index < failure.index) failure = { index, error: outcome.reason };
        }
        stored.forEach((appended, k) => {
          const p = group[k] as Pending;
          if (p.type === undefined || p.factId === undefined) return;
          const version = this.states.get(stream)?.facts.get(p.factId);
          if (version) {
            version.position = appended.position;
            version.recordedAt = appended.recordedAt;
          }
          this.deps.index.set(p.factId, stream);
          results.set(p.index, this.result(p.type, p.factId, stream, appended.revision, appended.position, appended.recordedAt, true));
        });
      });
    });
    // A fact found recorded before (a retry) is recorded, whatever became of this commit.
    for (const [index, { stream, factId }] of this.duplicates) {
      const v = this.states.get(stream)?.facts.get(factId);
      if (v) results.set(index, this.result(v.type, factId, stream, v.revision, v.position ?? '', v.recordedAt ?? '', false));
    }
    if (failure) return { results, failure };
    for (const [stream, state] of this.states) {
      this.deps.cache.offer(stream, state);
      const kind = parseStream(stream)?.kind;
      if (kind && isEntityKind(kind)) this.deps.cache.noteStanding(stream, creation(state, ...CREATING_TYPES[kind]) !== undefined);
    }
    for (const key of this.partKeys) this.deps.cache.rememberKey(key, this.keys.get(key) as KeyState);
    this.committedAll();
    return { results };
  }

  /**
   * After a commit that stored everything pending: the next facts decided (a batch committed in
   * parts, `commit` again) start from what the cache now holds. The states just committed are
   * the cache's from here on, so they are not decided into again (cached states are never
   * mutated: the next decision clones them), and the waves start over: nothing pending waits
   * for what is stored. The facts and keys decided stay known (`factStreams`, `keys`).
   */
  private committedAll(): void {
    this.pending.length = 0;
    this.pendingAppends = 0;
    this.partKeys.length = 0;
    this.duplicates.clear();
    this.states.clear();
    this.loaded.clear();
    this.createdWave.clear();
    this.lastWave.clear();
  }

  private result(type: FactType, factId: string, stream: string, revision: number, position: string, recordedAt: string, created: boolean): RecordedFact {
    const r: RecordedFact = { factId, type, stream, revision, position, recordedAt, created };
    // The entity the fact created, or (an adoption of an existing document) the one it joined.
    const id = createdKind(type) === undefined ? undefined : parseStream(stream)?.id;
    if (id !== undefined) r.id = id;
    return r;
  }

  /**
   * committed() without a read, when it needs none (read before in this attempt, or cached
   * for an optimistic decision); undefined when it does. The hot path of a batch then makes
   * no promise for it (an async call and its await, a few a fact, were ~1/10 of the event
   * loop's allocations a batch fact).
   */
  private committedNow(stream: string): StreamState | undefined {
    let s = this.loaded.get(stream);
    if (!s && this.deps.optimistic) {
      s = this.deps.cache.peek(stream);
      if (s) this.loaded.set(stream, s);
    }
    return s;
  }

  /** state() without a read, when it needs none; undefined when it does. */
  private stateNow(stream: string): StreamState | undefined {
    let s = this.states.get(stream);
    if (!s) {
      const committed = this.committedNow(stream);
      if (!committed) return undefined;
      s = cloneState(committed);
      this.states.set(stream, s);
    }
    return s;
  }

  private async committed(stream: string): Promise<StreamState> {
    let s = this.loaded.get(stream);
    if (!s) {
      s = (this.deps.optimistic ? this.deps.cache.peek(stream) : undefined) ?? (await this.deps.cache.load(stream));
      this.loaded.set(stream, s);
    }
    return s;
  }

  /** The state to decide against: committed, plus what this attempt decided before. */
  private async state(stream: string): Promise<StreamState> {
    let s = this.states.get(stream);
    if (!s) {
      s = cloneState(await this.committed(stream));
      this.states.set(stream, s);
    }
    return s;
  }

  private async keyState(key: string): Promise<KeyState> {
    return this.keys.get(key) ?? (await this.deps.cache.loadKey(key));
  }

  /**
   * resolve; but a retry of a recorded fact answers with the original result (API.md) even when
   * an entity it names was retracted since: its references are then resolved to entities that
   * exist, standing or not, and the 404 is kept for the decision to throw unless the decider
   * finds the fact recorded as it is (decide: unresolvedRetry).
   */
  private async resolveOrRetried(type: FactType, data: Readonly<Record<string, unknown>>, prefix: string[], refs: Set<string>, factId: string): Promise<Readonly<Record<string, unknown>>> {
    this.unresolvedRetry = undefined;
    try {
      return await this.resolve(type, data, prefix, refs);
    } catch (err) {
      if (!(err instanceof DomainError) || err.kind !== 'not_found') throw err;
      const recorded = this.factStreams.get(factId) ?? this.deps.index.get(factId) ?? (await this.deps.index.lookup(factId));
      if (recorded === undefined) throw err;
      refs.clear();
      const resolved = await this.resolve(type, data, prefix, refs, true).catch(() => {
        throw err;
      });
      this.unresolvedRetry = err;
      return resolved;
    }
  }

  /** Replaces every entity reference (key or id) by the id of a standing entity of the right kind (any that exists, `retracted` too, for a retry). */
  private async resolve(type: FactType, data: Readonly<Record<string, unknown>>, prefix: string[], refs: Set<string>, retracted = false): Promise<Readonly<Record<string, unknown>>> {
    const sites = refSites(type, data);
    if (sites.length === 0) return data;
    // Made at the first problem or replacement: most facts of a batch have none of one of them.
    let problems: FieldProblem[] | undefined;
    let replacements: { path: (string | number)[]; id: string }[] | undefined;
    for (const site of sites) {
      let id = site.value;
      if (!isUlid(site.value)) {
        // Known here or cached: no call that makes a promise (most sites of a batch).
        const held = (this.keys.get(site.value) ?? this.deps.cache.cachedKey(site.value) ?? (await this.keyState(site.value))).reservation;
        if (!held) {
          (problems ??= []).push({ path: sitePath(prefix, site), message: `no ${site.kind} has the key \`${site.value}\`` });
          continue;
        }
        if (held.entityKind !== site.kind) {
          (problems ??= []).push({ path: sitePath(prefix, site), message: `the key \`${site.value}\` names a ${held.entityKind}, not a ${site.kind}` });
          continue;
        }
        id = held.entityId;
        (replacements ??= []).push({ path: site.path, id });
      }
      const entity = streamOf(site.kind, id);
      const decided = this.states.get(entity);
      if (!decided && this.deps.optimistic && this.deps.cache.isStanding(entity)) {
        refs.add(entity);
        continue;
      }
      const s = decided ?? this.committedNow(entity) ?? (await this.committed(entity));
      if (!creation(s, ...CREATING_TYPES[site.kind]) && !(retracted && s.revision >= 0)) {
        (problems ??= []).push({ path: sitePath(prefix, site), message: `no ${site.kind} ${site.value} is recorded (or its registration was retracted)` });
        continue;
      }
      refs.add(entity);
    }
    if (problems !== undefined) {
      const head = problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join('; ');
      throw new DomainError('not_found', problems.length > 3 ? `${head}; and ${problems.length - 3} more` : head, { errors: problems });
    }
    return replacements !== undefined ? replaceRefs(data, replacements) : data;
  }
}

/** The decision of a fact resolved past a retracted entity: [] (the recorded fact again), or the 404 it had. */
function notARetry(decide: () => DomainEvent[], unresolvedRef: DomainError): DomainEvent[] {
  let decided: DomainEvent[];
  try {
    decided = decide();
  } catch {
    throw unresolvedRef;
  }
  if (decided.length > 0) throw unresolvedRef;
  return decided;
}
