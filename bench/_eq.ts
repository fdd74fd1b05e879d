import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
const [a, b] = process.argv.slice(2) as [string, string];
const digest = (file: string): Map<string, string> => {
  const db = new Database(file, { readonly: true });
  const out = new Map<string, string>();
  const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string; sql: string }[];
  for (const { name, sql } of tables) {
    if (sql?.startsWith('CREATE VIRTUAL')) continue;
    const rowid = !/WITHOUT ROWID/i.test(sql ?? '') && !name.startsWith('sqlite_stat');
    const h = createHash('sha1');
    const cols = (db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string }[]).length;
    const order = rowid ? 'rowid' : Array.from({ length: cols }, (_, i) => i + 1).join(', ');
    for (const r of db.prepare(`SELECT ${rowid ? 'rowid, ' : ''}* FROM "${name}" ORDER BY ${order}`).raw().iterate()) h.update(JSON.stringify(r, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v)));
    out.set(name, h.digest('hex'));
  }
  const idx = db.prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").all() as { name: string; sql: string }[];
  for (const i of idx) out.set(`index ${i.name}`, i.sql ?? '(auto)');
  db.close();
  return out;
};
const da = digest(a), db = digest(b);
let diff = 0;
for (const k of new Set([...da.keys(), ...db.keys()])) if (da.get(k) !== db.get(k)) { diff++; console.log('DIFF', k, da.get(k), db.get(k)); }
console.log(`${da.size} / ${db.size} tables and indexes compared (rows with rowids, sqlite_stat1, R*Tree shadow tables), ${diff} differ`);
