import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.js';

t.test('defaults follow API.md', async (t) => {
  const c = loadConfig({});
  t.equal(c.host, '127.0.0.1');
  t.equal(c.port, 3000);
  t.equal(c.dataDir, './data');
  t.equal(c.eventStore, 'sqlite');
  t.equal(c.tokens, undefined, 'unset: a token is generated');
  t.equal(c.seed, 'example');
  t.equal(c.privateReads, false);
  t.equal(c.bodyLimit, 1024 * 1024);
});

t.test('values are read and typed', async (t) => {
  const c = loadConfig({
    HOST: '0.0.0.0',
    PORT: '8080',
    ANNALS_EVENT_STORE: 'esdb://127.0.0.1:2113?tls=false',
    ANNALS_TOKENS: 'recorder:0123456789abcdef0123, auditor:fedcba9876543210fedc',
    ANNALS_SEED: 'none',
    ANNALS_PRIVATE_READS: 'true',
    ANNALS_BODY_LIMIT: '2048',
  });
  t.equal(c.port, 8080);
  t.equal(c.eventStore, 'esdb://127.0.0.1:2113?tls=false');
  t.same(c.tokens, [
    { role: 'recorder', token: '0123456789abcdef0123' },
    { role: 'auditor', token: 'fedcba9876543210fedc' },
  ]);
  t.equal(c.seed, 'none');
  t.equal(c.privateReads, true);
  t.equal(c.bodyLimit, 2048);
  t.equal(loadConfig({ ANNALS_EVENT_STORE: 'esdb+discover://a:2113,b:2113' }).eventStore, 'esdb+discover://a:2113,b:2113');
  t.equal(loadConfig({ PORT: '' }).port, 3000, 'an empty variable counts as unset');
  t.same(loadConfig({ ANNALS_TOKENS: 'recorder:rtok' }).tokens, [{ role: 'recorder', token: 'rtok' }], 'API.md sets no minimum length');
});

t.test('each bad value is named with what is expected', async (t) => {
  try {
    loadConfig({ PORT: 'http', ANNALS_EVENT_STORE: 'postgres://x', ANNALS_SEED: 'all', ANNALS_TOKENS: 'boss:0123456789abcdef0123,recorder:' });
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    t.match(problems, /PORT/);
    t.match(problems, /ANNALS_EVENT_STORE: expected 'sqlite' or an EventStoreDB connection string/);
    t.match(problems, /ANNALS_SEED/);
    t.match(problems, /ANNALS_TOKENS: pair 1: expected role:token/);
    t.match(problems, /pair 2 \(recorder\): the token is empty/);
    t.notMatch((err as Error).message, /0123456789abcdef0123/, 'a token never appears in the message');
  }
  t.throws(() => loadConfig({ ANNALS_TOKENS: ',' }), ConfigError, 'no pair at all');
  t.throws(() => loadConfig({ ANNALS_PRIVATE_READS: 'maybe' }), ConfigError);
});

t.test('limits, shedding and the trusted proxy', async (t) => {
  const d = loadConfig({});
  t.match(d, { maxConnections: 1024, rateLimitAnonymous: 1200, rateLimitFailedAuth: 30, shedEventLoopDelayMs: 50, shedEventLoopUtilization: 0, readTurnBudgetMs: 20, trustProxy: false });
  t.equal(loadConfig({ ANNALS_TRUST_PROXY: 'true' }).trustProxy, true);
  t.equal(loadConfig({ ANNALS_TRUST_PROXY: '2' }).trustProxy, 2);
  t.same(loadConfig({ ANNALS_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1']);
  t.equal(loadConfig({ ANNALS_RATE_LIMIT_ANONYMOUS: '0' }).rateLimitAnonymous, 0, '0 turns a limit off');
  try {
    loadConfig({ ANNALS_TRUST_PROXY: 'everyone', ANNALS_SHED_EVENT_LOOP_UTILIZATION: '1.5', ANNALS_MAX_CONNECTIONS: '0' });
    t.fail('should throw');
  } catch (err) {
    const problems = (err as ConfigError).problems.join('\n');
    t.match(problems, /ANNALS_TRUST_PROXY: expected 'false', 'true', a number of proxy hops/);
    t.match(problems, /ANNALS_SHED_EVENT_LOOP_UTILIZATION/);
    t.match(problems, /ANNALS_MAX_CONNECTIONS/);
  }
});

t.test('ANNALS_READ_MODELS: by default per store (#19)', async (t) => {
  t.equal(loadConfig({}).readModels, 'writer', "the embedded store with its writer thread: applied on the writer's thread");
  t.equal(loadConfig({ ANNALS_EVENT_STORE: 'esdb://127.0.0.1:2113?tls=false' }).readModels, 'thread', 'EventStoreDB: a read-model thread');
  t.equal(loadConfig({ ANNALS_SQLITE_WRITER: 'inline' }).readModels, 'thread', 'no writer thread to apply them on');
  for (const mode of ['thread', 'inline', 'writer', 'writer-split'] as const) t.equal(loadConfig({ ANNALS_READ_MODELS: mode }).readModels, mode, `${mode} when asked for`);
});

t.test('ANNALS_GROUP_LINGER_MS: off unless set, read as ms, bounded', async (t) => {
  t.equal(loadConfig({}).groupLingerMs, 0, 'default 0: a group never waits (session 40: no CPU saved in bench:record, p99 +18 ms in record-ab)');
  t.equal(loadConfig({ ANNALS_GROUP_LINGER_MS: '2' }).groupLingerMs, 2);
  t.throws(() => loadConfig({ ANNALS_GROUP_LINGER_MS: '-1' }), ConfigError, 'negative');
  t.throws(() => loadConfig({ ANNALS_GROUP_LINGER_MS: '51' }), ConfigError, 'over 50 ms');
});

t.test('ANNALS_READ_PAGE_KIB: the read-model file’s page size when made, SQLite’s 4 KiB unless set, one of SQLite’s sizes', async (t) => {
  t.equal(loadConfig({}).readPageKib, 4, 'default 4 (session 45 measured 8 and 16: bench/RESULTS.md)');
  t.equal(loadConfig({ ANNALS_READ_PAGE_KIB: '16' }).readPageKib, 16);
  t.equal(loadConfig({ ANNALS_READ_PAGE_KIB: '64' }).readPageKib, 64);
  for (const bad of ['3', '0', '128', 'big']) t.throws(() => loadConfig({ ANNALS_READ_PAGE_KIB: bad }), ConfigError, bad);
});

t.test('ANNALS_READ_MMAP_MIB: the read workers’ memory map, off unless set, bounded', async (t) => {
  t.equal(loadConfig({}).readMmapMib, 0, 'default 0: no map (session 41: the whole map put bench:read’s server at 1.4 GB of RSS)');
  t.equal(loadConfig({ ANNALS_READ_MMAP_MIB: '2047' }).readMmapMib, 2047);
  t.throws(() => loadConfig({ ANNALS_READ_MMAP_MIB: '-1' }), ConfigError, 'negative');
  t.throws(() => loadConfig({ ANNALS_READ_MMAP_MIB: '2048' }), ConfigError, 'over SQLite’s cap (0x7fff0000 bytes)');
});
