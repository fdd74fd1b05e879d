/**
 * Are two rebuilt read-model files the same? `node --import tsx bench/rebuilt-digest.ts <a.db> [<b.db>]`
 * (read only): for each table of the file (the read models', `facts`, `meta`, `checkpoint`,
 * `sqlite_stat1`, the R*Trees' shadow tables; not the virtual tables themselves, whose rows are
 * their shadow tables'), a sha256 of its rows in rowid order (a WITHOUT ROWID table: its key's
 * order), each value as SQLite's `quote()` writes it (type and bytes: 1 and 1.0 and '1' differ),
 * and of the schema (sqlite_master's rows sorted). With two files, the tables that differ.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: bench/rebuilt-digest.ts <readmodels.db> [<another>]');

function digest(file: string): Map<string, string> {
  const db = new Database(file, { readonly: true });
  const out = new Map<string, string>();
  try {
    const schema = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").raw().all() as string[][];
    out.set('(schema)', createHash('sha256').update(JSON.stringify(schema)).digest('hex'));
    const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name").all() as { name: string; sql: string }[];
    for (const { name, sql } of tables) {
      const cols = (db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(name) as string[]).map((c) => `quote("${c}")`);
      const withoutRowid = /WITHOUT\s+ROWID\s*$/i.test(sql);
      const order = withoutRowid ? (db.prepare(`SELECT name FROM pragma_index_info((SELECT name FROM pragma_index_list(?) WHERE origin = 'pk'))`).pluck().all(name) as string[]).map((c) => `"${c}"`).join(', ') : 'rowid';
      const h = createHash('sha256');
      let rows = 0;
      for (const line of db.prepare(`SELECT ${withoutRowid ? '' : "quote(rowid) || char(31) || "}${cols.join(' || char(31) || ')} FROM "${name}" ORDER BY ${order}`).pluck().iterate() as IterableIterator<string>) {
        h.update(line);
        h.update('\n');
        rows++;
      }
      out.set(name, `${h.digest('hex').slice(0, 16)} ${rows} rows`);
    }
  } finally {
    db.close();
  }
  return out;
}

const [a, b] = files.map(digest) as [Map<string, string>, Map<string, string> | undefined];
if (b === undefined) for (const [t, d] of a) console.log(`${t.padEnd(28)} ${d}`);
else {
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  const differ = names.filter((t) => a.get(t) !== b.get(t));
  for (const t of names) console.log(`${t.padEnd(28)} ${a.get(t) ?? '(none)'}${a.get(t) === b.get(t) ? '' : `  ≠ ${b.get(t) ?? '(none)'}`}`);
  console.log(differ.length === 0 ? `the same: ${names.length} tables and the schema` : `DIFFER: ${differ.join(', ')}`);
  process.exitCode = differ.length === 0 ? 0 : 1;
}
