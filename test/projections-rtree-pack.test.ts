/**
 * A bulk build's temporal index written packed (projections/rtree-pack.ts) is a sound R*Tree
 * (SQLite's own `rtreecheck`), holds the same entries as one filled by inserts, answers every
 * search alike, and stays sound and alike under the live writer's inserts, updates and
 * deletes afterwards: from an empty tree, a root that is a leaf, a root just full, one just
 * over (two levels), and several levels.
 */
import Database from 'better-sqlite3';
import t from 'tap';
import { packRtree } from '../projections/rtree-pack.js';

const RT = (name: string): string => `CREATE VIRTUAL TABLE ${name} USING rtree_i32(id, elo, ehi, vlo, vhi, klo, khi)`;
const SEARCH = (name: string): string => `SELECT id FROM ${name} WHERE elo <= @ek AND ehi >= @ek AND vlo <= @v1 AND vhi >= @v0 AND klo <= @km AND khi >= @km ORDER BY id`;

function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

for (const size of [0, 1, 51, 52, 700, 6000]) {
  t.test(`${size} entries: packed equals inserted`, (t) => {
    const rnd = random(size + 1);
    const db = new Database(':memory:');
    t.teardown(() => db.close());
    // Entities as hashes (negative too), some with many entries; open ends at the maximum.
    const entities = Array.from({ length: Math.max(1, Math.floor(size / 20)) }, () => Math.floor(rnd() * 4_294_967_296) - 2_147_483_648);
    db.exec('CREATE TABLE src (id INTEGER PRIMARY KEY, e INTEGER, vlo INTEGER, vhi INTEGER, klo INTEGER, khi INTEGER)');
    const put = db.prepare('INSERT INTO src VALUES (?, ?, ?, ?, ?, ?)');
    for (let i = 0; i < size; i++) {
      const vlo = 800_000 + Math.floor(rnd() * 50_000);
      const klo = Math.floor(rnd() * 1_000_000);
      put.run(i * 3 + 1, entities[Math.floor(rnd() * entities.length)], vlo, rnd() < 0.2 ? 2_147_483_647 : vlo + Math.floor(rnd() * 5000), klo, rnd() < 0.5 ? 2_147_483_647 : klo + Math.floor(rnd() * 1000));
    }
    db.exec(`${RT('inserted')}; ${RT('packed')}; INSERT INTO inserted SELECT id, e, e, vlo, vhi, klo, khi FROM src`);
    packRtree(db, 'packed', 'SELECT id, e, vlo, vhi, klo, khi FROM src', (r: [number, number, number, number, number, number]) => r);
    const same = (when: string): void => {
      t.equal(db.prepare("SELECT rtreecheck('packed')").pluck().get(), 'ok', `${when}: rtreecheck finds the packed tree sound`);
      t.same(db.prepare('SELECT * FROM packed ORDER BY id').raw().all(), db.prepare('SELECT * FROM inserted ORDER BY id').raw().all(), `${when}: the same entries`);
      const a = db.prepare(SEARCH('inserted')).pluck();
      const b = db.prepare(SEARCH('packed')).pluck();
      let differ = 0;
      let found = 0;
      for (let q = 0; q < 300; q++) {
        const v0 = 800_000 + Math.floor(rnd() * 55_000);
        const p = { ek: entities[Math.floor(rnd() * entities.length)], v0, v1: v0 + Math.floor(rnd() * 400), km: Math.floor(rnd() * 1_001_000) };
        const x = a.all(p);
        found += x.length;
        if (JSON.stringify(x) !== JSON.stringify(b.all(p))) differ++;
      }
      t.equal(differ, 0, `${when}: 300 searches answer alike (${found} entries found)`);
    };
    same('packed');
    // The live writer's upkeep afterwards (db.ts, terms-index.ts): inserts, closing an entry's recording time, deletes.
    for (const name of ['inserted', 'packed']) {
      const r = random(size + 99);
      const ins = db.prepare(`INSERT INTO ${name} VALUES (?, ?, ?, ?, ?, ?, 2147483647)`);
      for (let i = 0; i < 400; i++) {
        const e = entities[Math.floor(r() * entities.length)] as number;
        const vlo = 800_000 + Math.floor(r() * 50_000);
        ins.run(10_000_000 + i, e, e, vlo, vlo + Math.floor(r() * 3000), Math.floor(r() * 1_000_000));
      }
      const ids = db.prepare(`SELECT id FROM ${name} ORDER BY id`).pluck().all() as number[];
      const close = db.prepare(`UPDATE ${name} SET khi = max(klo, 1000000) WHERE id = ?`);
      for (const id of ids.filter((_, k) => k % 5 === 0)) close.run(id);
      const drop = db.prepare(`DELETE FROM ${name} WHERE id = ?`);
      for (const id of ids.filter((_, k) => k % 3 === 1)) drop.run(id);
    }
    same('after live upkeep');
    t.end();
  });
}

t.test('an entry whose low end is above its high end is refused, as an insert refuses it', (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec(RT('packed'));
  t.throws(() => packRtree(db, 'packed', 'SELECT 1, 5, 10, 9, 0, 1', (r: [number, number, number, number, number, number]) => r), /rtree constraint failed/);
  t.throws(() => db.exec('INSERT INTO packed VALUES (1, 5, 5, 10, 9, 0, 1)'), /rtree constraint failed/);
  t.equal(db.prepare('SELECT count(*) FROM packed').pluck().get(), 0, 'nothing written');
  t.end();
});

t.test('a row the entry function makes none of (null) is left out', (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec(RT('packed'));
  packRtree(db, 'packed', 'SELECT 1, 5, NULL, 9, 0, 1 UNION ALL SELECT 2, 5, 8, 9, 0, 1', (r: [number, number, number | null, number, number, number]) => (r[2] === null ? null : [r[0], r[1], r[2], r[3], r[4], r[5]]));
  t.same(db.prepare('SELECT * FROM packed').raw().all(), [[2, 5, 5, 8, 9, 0, 1]], 'only the row with days');
  t.equal(db.prepare("SELECT rtreecheck('packed')").pluck().get(), 'ok');
  t.end();
});
