import Database from 'better-sqlite3';
import { QueryContext } from '../projections/query-context.js';
import { organizationSessionBodies } from '../projections/sessions/queries.js';
const db = new Database('/work/.bench/s40-st-1/readmodels.db', { readonly: true });
db.pragma('cache_size = -131072');
const q = new QueryContext(db, false, 60_000);
const [from, to] = db.prepare('SELECT min(recorded_at), max(recorded_at) FROM facts').raw().get() as [string, string];
const k0 = Date.parse(from), kn = Date.parse(to);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const org = q.ref('organization', 'org', to)!.id;
for (let rep = 0; rep < 3; rep++) {
  let t = 0, tb = 0; const N = 2000;
  for (let i = 0; i < N; i++) {
    const k = new Date(k0 + Math.floor(Math.random() * (kn - k0))).toISOString();
    q.end();
    const t0 = cpu(); q.ref('organization', 'org', k); const t1 = cpu();
    organizationSessionBodies(q, org, k); const t2 = cpu();
    t += t1 - t0; tb += t2 - t1;
  }
  console.log(`ref ${(t / N * 1000).toFixed(1)} µs, bodies ${(tb / N * 1000).toFixed(1)} µs`);
}
