/**
 * The catalogue's promise (events/facts/): each fact type is described once, beside its
 * schema, and every table that depends on the fact type is derived from it. Checked here
 * against the catalogue: every entry is in it; each entry names fields its schema has and
 * declares every entity reference the schema holds; the request union, the stream a fact
 * goes to, the entity it creates, the references the recorder resolves, the deciders, the
 * projections' lists of types all agree with the entries.
 * test/catalogue-scratch.test.ts adds a fact type to a scratch copy and records one.
 */
import t from 'tap';
import { z } from 'zod';
import {
  CREATING_TYPES, ENTITY_KINDS, ENTRIES, EntityRef, FACT_TYPES, KeyReserved, STREAM_KINDS, catalogue, createdKind, fact, factSchemas,
  placementOf, refSites, storedFact, streamOf, typesIn, typesNaming, type EntityKind, type FactType,
} from '../events/index.js';
import * as corrections from '../events/facts/corrections.js';
import * as documents from '../events/facts/documents.js';
import * as offices from '../events/facts/offices.js';
import * as registrations from '../events/facts/registrations.js';
import * as sessions from '../events/facts/sessions.js';
import { offices as officesProjection } from '../projections/offices/evolve.js';
import { entities } from '../projections/entities/evolve.js';
import { documents as documentsProjection } from '../projections/documents/evolve.js';
import { sessions as sessionsProjection } from '../projections/sessions/evolve.js';
import type { LogEvent } from '../projections/db.js';
import { DECIDERS, type DomainEvent, type StreamState } from '../src/domain/index.js';
import { FactRequest } from '../src/record/request.js';
import { streamFor } from '../src/record/streams.js';
import { testUlid } from './fixtures/history.js';

// The zod internals this test walks (zod 4): a schema's `_zod.def`.
interface Def {
  type: string;
  shape?: Record<string, Schema>;
  innerType?: Schema;
  element?: Schema;
  options?: Schema[];
  checks?: unknown[];
}
interface Schema {
  _zod: { def: Def };
}
const def = (s: unknown): Def => (s as Schema)._zod.def;
const REF_CHECK = def(EntityRef).checks?.[0];

/** Every path in a schema that holds an entity reference (built on EntityRef), `*` for array items. */
function refPaths(schema: unknown, prefix = ''): string[] {
  const d = def(schema);
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
      return refPaths(d.innerType, prefix);
    case 'array':
      return refPaths(d.element, `${prefix}*.`);
    case 'union':
      return [...new Set((d.options ?? []).flatMap((o) => refPaths(o, prefix)))];
    case 'object':
      return Object.entries(d.shape ?? {}).flatMap(([k, v]) => refPaths(v, `${prefix}${k}.`));
    case 'string':
      return d.checks?.includes(REF_CHECK) ? [prefix.slice(0, -1)] : [];
    default:
      return [];
  }
}

const fields = (type: FactType): string[] => Object.keys(def(factSchemas[type]).shape ?? {});

/** A fact of each type whose references are all given (ids standing for entities). */
function sample(type: FactType, drop: readonly string[] = []): Record<string, unknown> {
  // Talks need a day when no session gives them one (their schema says so).
  const data: Record<string, unknown> = type === 'SidelineTalksHeld' ? { on: '2025-11-27' } : {};
  for (const path of Object.keys(ENTRIES[type].refs)) {
    if (drop.includes(path)) continue;
    const [head] = path.split('.');
    if (path.includes('.')) data[head as string] = path.includes('*') ? [{ person: testUlid(1, 9) }] : { ...(data[head as string] as object), [path.split('.')[1] as string]: testUlid(2, 9) };
    else data[path] = testUlid(3, 9);
  }
  return data;
}

t.test('every entry declared in events/facts/ is in the catalogue, under its own name, in the contract order', async (t) => {
  const declared = Object.entries({ ...registrations, ...offices, ...sessions, ...documents, ...corrections })
    .filter(([, v]) => typeof v === 'object' && v !== null && 'data' in v && 'stream' in v && 'identity' in v && 'refs' in v)
    .map(([name]) => name);
  t.same([...declared].sort(), [...FACT_TYPES].sort(), 'the entries of the files are the catalogue');
  t.same(FACT_TYPES, Object.keys(catalogue));
  t.same(FACT_TYPES.slice(0, 3), ['OrganizationRegistered', 'PersonRegistered', 'OfficeEstablished'], 'the order API.md lists them in');
  for (const type of FACT_TYPES) t.equal(factSchemas[type], catalogue[type].data, `factSchemas.${type} is the entry's schema`);
});

t.test('each entry names fields its schema has, and every entity reference in the schema', async (t) => {
  for (const type of FACT_TYPES) {
    const entry = ENTRIES[type];
    const own = fields(type);
    for (const f of entry.identity) t.ok(own.includes(f), `${type}: identity field ${f} is in the schema`);
    const rule = entry.stream;
    if (rule.in !== undefined) {
      t.ok(entry.identity.includes(rule.by), `${type}: the field that places it (${rule.by}) may not be corrected`);
      t.equal(entry.refs[rule.by], rule.in, `${type}: ${rule.by} names a ${rule.in}`);
    }
    if (rule.amends !== undefined) t.ok(own.includes(rule.amends), `${type}: ${rule.amends} is in the schema`);
    if (createdKind(type) && own.includes('key')) t.ok(entry.identity.includes('key'), `${type}: its key names it for good`);
    t.same(Object.keys(entry.refs).sort(), refPaths(factSchemas[type]).sort(), `${type}: refs are exactly the schema's entity references`);
  }
  t.ok(refPaths(factSchemas.SidelineTalksHeld).includes('participants.*.person'), 'the walk sees references inside arrays');
});

t.test('the request union is one envelope per catalogue type, in its order, each with the type\'s schema', async (t) => {
  const options = (FactRequest as unknown as { options: Array<{ shape: { type: { value: string }; data: unknown } }> }).options;
  t.same(options.map((o) => o.shape.type.value), FACT_TYPES);
  for (const o of options) t.equal(o.shape.data, factSchemas[o.shape.type.value as FactType]);
});

t.test('streams, created entities and key reservations follow the stream rules', async (t) => {
  const factId = testUlid(42, 9);
  for (const type of FACT_TYPES) {
    const rule = ENTRIES[type].stream;
    const fact = storedFact(type, sample(type));
    if (rule.amends !== undefined) {
      t.equal(streamFor(fact, factId), null, `${type}: decided in the stream of the fact it names`);
      t.equal(createdKind(type), undefined);
      continue;
    }
    if (rule.in !== undefined) {
      t.equal(streamFor(fact, factId), streamOf(rule.in, testUlid(3, 9)), `${type}: in the stream of the ${rule.in} it names`);
      t.notOk(placementOf(fact, factId)?.opens);
    }
    if (rule.own !== undefined) {
      const alone = storedFact(type, sample(type, rule.in !== undefined ? [rule.by] : []));
      t.equal(streamFor(alone, factId), streamOf(rule.own, factId), `${type}: a stream of its own`);
      t.ok(placementOf(alone, factId)?.opens);
      t.equal(createdKind(type), (ENTITY_KINDS as readonly string[]).includes(rule.own) ? rule.own : undefined, `${type}: creates what its own stream is of`);
    } else t.equal(createdKind(type), undefined);
  }
  for (const kind of ENTITY_KINDS) t.same(CREATING_TYPES[kind], FACT_TYPES.filter((type) => ENTRIES[type].stream.own === kind), `the types that create a ${kind}`);
  t.same(KeyReserved.shape.entityKind.options, [...ENTITY_KINDS], 'a key is reserved for an entity of a kind the catalogue knows');
  t.same(refSites('SessionHeld', { body: 'b', chairedBy: { person: 'p', office: 'o' } }, 'office'), [{ path: ['chairedBy', 'office'], kind: 'office', value: 'o' }]);
});

t.test('one decider per kind of stream decides every fact that lives there, and refuses the others as misplaced', async (t) => {
  t.same(Object.keys(DECIDERS).sort(), [...STREAM_KINDS].sort());
  const source = { title: 'catalogue test' };
  for (const type of FACT_TYPES) {
    const rule = ENTRIES[type].stream;
    if (rule.amends !== undefined) continue;
    // The fact as it joins an entity's stream, and (where it may) as it opens one of its own.
    const variants = [sample(type), ...(rule.in !== undefined && rule.own !== undefined ? [sample(type, [rule.by])] : [])];
    for (const data of variants) {
      const command: DomainEvent = { ...storedFact(type, data), factId: testUlid(50, 9), source };
      const placed = placementOf(command, command.factId);
      if (placed === null) continue;
      for (const kind of STREAM_KINDS) {
        const decider = DECIDERS[kind];
        const state: StreamState = decider.initialState();
        if (kind !== placed.kind) {
          t.throws(() => decider.decide(command, state), { message: `${type} is not decided by the ${kind} decider` }, `${type} is not a ${kind} fact`);
          continue;
        }
        if (placed.opens) t.same(decider.decide(command, state), [command], `${type} opens a ${kind} stream`);
        else {
          const refused = (() => {
            try {
              decider.decide(command, state);
            } catch (err) {
              return err;
            }
            return null;
          })();
          t.match(refused, { kind: 'not_found', extra: { errors: [{ path: `data.${placed.by}` }] } }, `${type} needs the ${kind} it names at ${placed.by} to stand`);
        }
      }
    }
  }
});

t.test('the projections\' lists of types read the catalogue', async (t) => {
  t.same(entities.handles, FACT_TYPES.filter((type) => createdKind(type) !== undefined));
  t.same([...officesProjection.handles].sort(), FACT_TYPES.filter((type) => Object.values(ENTRIES[type].refs).includes('office')).sort());
  t.same([...sessionsProjection.handles].sort(), ['DelegateAttended', 'ReportDelivered', 'SessionHeld', 'SidelineTalksHeld']);
  t.same([...documentsProjection.handles].sort(), ['DocumentAdopted', 'DocumentConsidered']);
  t.same(typesIn('talks'), ['SidelineTalksHeld']);
  t.same(typesNaming('office' satisfies EntityKind).sort(), [...officesProjection.handles].sort());
});

t.test('an entry that names a field its schema lacks does not compile', async (t) => {
  const data = z.strictObject({ office: EntityRef, on: z.string() });
  // Type-level checks: `npm test` runs tsc over this file, so each expected error must be there.
  fact({ data, stream: { in: 'office', by: 'office' }, identity: ['office'], refs: { office: 'office' } });
  // @ts-expect-error: `person` is not a field of the schema
  fact({ data, stream: { in: 'office', by: 'office' }, identity: ['person'], refs: {} });
  // @ts-expect-error: the stream is placed by a field the schema lacks
  fact({ data, stream: { in: 'office', by: 'person' }, identity: [], refs: {} });
  // @ts-expect-error: a reference path must start at a field of the schema
  fact({ data, stream: { own: 'talks' }, identity: [], refs: { 'chair.person': 'person' } });
  // @ts-expect-error: `talks` is a kind of stream, not of entity: nothing can name one
  fact({ data, stream: { in: 'talks', by: 'office' }, identity: [], refs: {} });
  t.pass('checked by the compiler');
});
