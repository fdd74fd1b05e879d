/**
 * A bulk build's temporal index (temporal.ts), packed: every entry read at once, sorted by
 * entity then valid days, cut into full nodes level by level from the leaves up, and the nodes
 * written straight into the R*Tree's own tables (`<name>_node`, `_rowid`, `_parent`) in the
 * format SQLite's rtree.c documents, instead of inserted one by one. An insert walks the tree
 * to choose a leaf, splits full nodes and re-inserts: 3.4 s of CPU for the terms' 589,383
 * entries of the 1,000,000-fact record, where packing costs a sort.
 *
 * The tree is an ordinary R*Tree afterwards (`rtreecheck` finds it sound; the live writer
 * inserts, updates and deletes in it as in any other): a query finds the same entries in it
 * as in one built by inserts, only the nodes are grouped differently. Used only on a fresh
 * table (a bulk build): its shadow tables are written whole.
 *
 * Node format (rtree.c): 2 bytes of tree depth (the root, node 1, only), 2 bytes of cell
 * count, then the cells, each an 8-byte id (a rowid in a leaf, a child node's number
 * otherwise) and 2 × dimensions 4-byte coordinates (rtree_i32: signed integers), all
 * big-endian; every node as long as the root. `_rowid` maps each entry to its leaf and
 * `_parent` each node but the root to its parent.
 */
import type { Database as Db } from 'better-sqlite3';
import { BulkInsert } from './bulk-insert.js';

/** Coordinates an entry has (three intervals: entity, valid days, recording time). */
const COORDS = 6;
const CELL = 8 + COORDS * 4;

/** An entry: its id (a rowid), then its entity's key (a point: elo = ehi), valid days (vlo, vhi) and recording time (klo, khi). */
export type RtreeEntry = readonly [id: number, entity: number, vlo: number, vhi: number, klo: number, khi: number];

/**
 * Fills the empty R*Tree `name` (rtree_i32 with 3 dimensions, temporal.ts) with an entry for
 * each row `select` returns (raw, in any order), made by `entry` in JS (null: none for that
 * row): the key functions of temporal.ts called here cost less than called back from SQL for
 * each cell. Refuses, as an insert would, an entry whose low end exceeds its high end.
 */
export function packRtree<R extends unknown[]>(db: Db, name: string, select: string, entry: (row: R) => RtreeEntry | null): void {
  const ids: number[] = [];
  const coords: number[] = [];
  for (const r of db.prepare(select).raw().iterate() as IterableIterator<R>) {
    const made = entry(r);
    if (made === null) continue;
    const [id, e, vlo, vhi, klo, khi] = made;
    if (vlo > vhi || klo > khi) throw new Error(`rtree constraint failed: ${name} entry ${id} has a low end above its high end`);
    ids.push(id);
    coords.push(e, e, vlo, vhi, klo, khi);
  }
  const n = ids.length;
  if (n === 0) return;
  const boxes = Int32Array.from(coords);
  const nodeSize = db.prepare(`SELECT length(data) FROM ${name}_node WHERE nodeno = 1`).pluck().get() as number;
  const fanout = Math.floor((nodeSize - 4) / CELL);
  // By entity, then first valid day, then id: the entries a search reads together share leaves.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => boxes[a * COORDS]! - boxes[b * COORDS]! || boxes[a * COORDS + 2]! - boxes[b * COORDS + 2]! || ids[a]! - ids[b]!);

  // Level by level, from the leaves: this level's cells cut into nodes, whose boxes are the next level's cells.
  const nodes: Buffer[] = [];
  const parentOf: number[] = [];
  const leafOf = new Float64Array(n);
  let cellIds: number[] = order.map((i) => ids[i]!);
  let cellBoxes = new Int32Array(n * COORDS);
  order.forEach((i, k) => cellBoxes.set(boxes.subarray(i * COORDS, (i + 1) * COORDS), k * COORDS));
  let depth = 0;
  // Node numbers: the root is 1 (made last), the others 2, 3, … in the order they are made.
  let next = 2;
  for (;;) {
    const count = cellIds.length;
    const root = count <= fanout;
    // Evenly filled: count/groups cells a node, so none holds fewer than a third of the fanout (SQLite's minimum).
    const groups = root ? 1 : Math.ceil(count / fanout);
    const upIds: number[] = [];
    const upBoxes = new Int32Array(groups * COORDS);
    for (let g = 0; g < groups; g++) {
      const from = Math.floor((g * count) / groups);
      const to = Math.floor(((g + 1) * count) / groups);
      const no = root ? 1 : next++;
      const data = Buffer.alloc(nodeSize);
      const view = new DataView(data.buffer, data.byteOffset, nodeSize);
      if (root) view.setUint16(0, depth);
      view.setUint16(2, to - from);
      const box = upBoxes.subarray(g * COORDS, (g + 1) * COORDS);
      for (let c = 0; c < COORDS; c += 2) {
        box[c] = 2_147_483_647;
        box[c + 1] = -2_147_483_648;
      }
      for (let k = from; k < to; k++) {
        const off = 4 + (k - from) * CELL;
        const id = cellIds[k]!;
        view.setUint32(off, Math.floor(id / 0x1_0000_0000));
        view.setUint32(off + 4, id >>> 0);
        for (let c = 0; c < COORDS; c++) {
          const v = cellBoxes[k * COORDS + c]!;
          view.setInt32(off + 8 + c * 4, v);
          if (c % 2 === 0 ? v < box[c]! : v > box[c]!) box[c] = v;
        }
        if (depth === 0) leafOf[k] = no;
        else parentOf[id] = no;
      }
      nodes[no] = data;
      upIds.push(no);
    }
    if (root) break;
    cellIds = upIds;
    cellBoxes = upBoxes;
    depth += 1;
  }
  const leafIds = order.map((i) => ids[i]!);
  // Each entry's leaf in id order: appended to the rowid table, not inserted in its middle.
  const byId = Array.from({ length: n }, (_, k) => k).sort((a, b) => leafIds[a]! - leafIds[b]!);

  // SQLite refuses writes to a virtual table's shadow tables in defensive mode (better-sqlite3's default).
  db.unsafeMode(true);
  try {
    db.transaction(() => {
      db.prepare(`UPDATE ${name}_node SET data = ? WHERE nodeno = 1`).run(nodes[1]);
      const node = db.prepare(`INSERT INTO ${name}_node (nodeno, data) VALUES (?, ?)`);
      for (let no = 2; no < next; no++) node.run(no, nodes[no]);
      const parents = new BulkInsert(db, `${name}_parent`, ['nodeno', 'parentnode']);
      for (let no = 2; no < next; no++) {
        parents.push(no);
        parents.push(parentOf[no]!);
        parents.added();
      }
      parents.flush();
      const rowids = new BulkInsert(db, `${name}_rowid`, ['rowid', 'nodeno']);
      for (const k of byId) {
        rowids.push(leafIds[k]!);
        rowids.push(leafOf[k]!);
        rowids.added();
      }
      rowids.flush();
    })();
  } finally {
    db.unsafeMode(false);
  }
}
