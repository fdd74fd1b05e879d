/**
 * docker-compose.yml: valid against the Compose Specification schema (../shared/schemas here;
 * on GitHub the workflow fetches the published schema and names it in ANNALS_COMPOSE_SCHEMA;
 * nothing is fetched by the test), and complete for the API: an EventStoreDB service with
 * a pinned image, a healthcheck and a named volume; the API waiting for it to be healthy and
 * pointed at it; the cluster profile with three gossiping nodes and a discovering API.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import t from 'tap';
import { parse } from 'yaml';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = process.env.ANNALS_COMPOSE_SCHEMA ?? path.resolve(repoRoot, '../shared/schemas/compose-spec.json');

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, { condition?: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// `merge: true`: the file shares settings between services with YAML merge keys (<<).
const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;

t.test('valid against the Compose Specification schema', async (t) => {
  // CI lays shared/ beside the clone; a checkout elsewhere (e.g. GitHub Actions) may not have it.
  if (!existsSync(schemaPath)) return t.skip(`${schemaPath} not found: shared/ is not beside this checkout, schema validation not run`, () => {});
  const { $schema, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // Ajv's default dialect is draft-07, registered as http://json-schema.org/draft-07/schema#;
  // the spec names it by its https address, which Ajv would try to look up. Same dialect.
  t.match($schema, /json-schema\.org\/draft-07\/schema/, 'the schema is draft-07');
  // The spec uses formats (e.g. duration) that Ajv does not define without ajv-formats.
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const validate = ajv.compile(schema);
  const ok = validate(compose);
  t.ok(ok, 'docker-compose.yml matches compose-spec.json');
  if (!ok) t.comment(JSON.stringify(validate.errors, null, 2));
});

function volumeNames(s: Service): string[] {
  return (s.volumes ?? []).map((v) => v.split(':')[0] ?? '');
}

function isEventStore(s: Service | undefined): boolean {
  return s?.image !== undefined && /^eventstore\/eventstore:\d+\.\d+\.\d+/.test(s.image);
}

t.test('the API and its EventStoreDB', async (t) => {
  const { services } = compose;
  const es = services.eventstore;
  t.ok(isEventStore(es), 'an eventstore service with a pinned image tag (no latest)');
  t.equal(es?.profiles, undefined, 'it runs without a profile');
  t.equal(es?.environment?.EVENTSTORE_INSECURE, 'true', 'insecure single node for development');
  t.equal(es?.environment?.EVENTSTORE_RUN_PROJECTIONS, 'None');
  t.equal(es?.environment?.EVENTSTORE_ENABLE_ATOM_PUB_OVER_HTTP, undefined, 'no AtomPub (deprecated since 20.6, unused)');
  t.ok(es?.healthcheck?.test, 'it has a healthcheck');
  for (const v of volumeNames(es ?? {})) t.ok(compose.volumes && v in compose.volumes, `volume ${v} is declared`);
  t.ok(volumeNames(es ?? {}).length > 0, 'its data is on a named volume');

  const api = services.api;
  t.ok(api?.build, 'the api is built from the Dockerfile');
  t.equal(api?.depends_on?.eventstore?.condition, 'service_healthy', 'the api waits for a healthy eventstore');
  t.equal(api?.environment?.ANNALS_EVENT_STORE, 'esdb://eventstore:2113?tls=false', 'the api points at it');
  for (const v of volumeNames(api ?? {})) t.ok(compose.volumes && v in compose.volumes, `volume ${v} is declared`);
});

t.test('the cluster profile', async (t) => {
  const { services } = compose;
  const nodes = Object.entries(services).filter(([, s]) => s.profiles?.includes('cluster') && isEventStore(s));
  t.equal(nodes.length, 3, 'three EventStoreDB nodes');
  const names = nodes.map(([n]) => n);
  for (const [name, s] of nodes) {
    t.equal(s.image, services.eventstore?.image, `${name}: same image as the single node`);
    t.equal(s.environment?.EVENTSTORE_CLUSTER_SIZE, '3', `${name}: cluster size 3`);
    const seeds = (s.environment?.EVENTSTORE_GOSSIP_SEED ?? '').split(',').map((x) => x.split(':')[0]);
    t.same(seeds.sort(), names.filter((n) => n !== name).sort(), `${name}: gossips with the two others`);
    t.ok(s.healthcheck?.test, `${name}: healthcheck`);
  }
  const api = Object.entries(services).find(([, s]) => s.profiles?.includes('cluster') && s.environment?.ANNALS_EVENT_STORE !== undefined);
  t.ok(api, 'an api variant in the profile');
  t.match(api?.[1].environment?.ANNALS_EVENT_STORE, /^esdb\+discover:\/\//, 'it discovers the cluster');
  for (const n of names) t.equal(api?.[1].depends_on?.[n]?.condition, 'service_healthy', `it waits for ${n}`);
});
