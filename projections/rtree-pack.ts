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
  // The coordinates in a typed array grown by doubling, not a JS array (8 bytes a number and
  // then copied into one): the terms' 589,383 entries of the 1,000,000-fact record held ~40 MB
  // more at once that way, which a replay's fold (bounded memory) peaked on.
  let boxes = new Int32Array(COORDS * 1024);
  // Ids as read rising (a scan in rowid order): then each entry's leaf is written in id order without sorting them again.
  let rising = true;
  for (const r of db.prepare(select).raw().iterate() as IterableIterator<R>) {
    const made = entry(r);
    if (made === null) continue;
    const [id, e, vlo, vhi, klo, khi] = made;
    if (vlo > vhi || klo > khi) throw new Error(`rtree constraint failed: ${name} entry ${id} has a low end above its high end`);
    if (rising && ids.length > 0 && id <= ids[ids.length - 1]!) rising = false;
    const at = ids.length * COORDS;
    if (at + COORDS > boxes.length) {
      const grown = new Int32Array(boxes.length * 2);
      grown.set(boxes);
      boxes = grown;
    }
    boxes[at] = e;
    boxes[at + 1] = e;
    boxes[at + 2] = vlo;
    boxes[at + 3] = vhi;
    boxes[at + 4] = klo;
    boxes[at + 5] = khi;
    ids.push(id);
  }
  const n = ids.length;
  if (n === 0) return;
  const nodeSize = db.prepare(`SELECT length(data) FROM ${name}_node WHERE nodeno = 1`).pluck().get() as number;
  const fanout = Math.floor((nodeSize - 4) / CELL);
  // By entity, then first valid day, then id: the entries a search reads together share leaves.
  const order = entryOrder(boxes, ids);

  // Level by level, from the leaves: this level's cells cut into nodes, whose boxes are the next level's cells.
  const nodes: Buffer[] = [];
  const parentOf: number[] = [];
  const leafOf = new Float64Array(n);
  let cellIds: number[] = Array.from(order, (i) => ids[i]!);
  let cellBoxes = new Int32Array(n * COORDS);
  for (let k = 0; k < n; k++) {
    const from = order[k]! * COORDS;
    const to = k * COORDS;
    for (let c = 0; c < COORDS; c++) cellBoxes[to + c] = boxes[from + c]!;
  }
  // Copied in tree order: the entries' own boxes are not needed again.
  boxes = new Int32Array(0);
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
  // Each entry's leaf in id order: appended to the rowid table, not inserted in its middle.
  const leafById = new Float64Array(n);
  for (let k = 0; k < n; k++) leafById[order[k]!] = leafOf[k]!;
  const byId = rising ? null : Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a]! - ids[b]!);

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
      for (let j = 0; j < n; j++) {
        const i = byId === null ? j : byId[j]!;
        rowids.push(ids[i]!);
        rowids.push(leafById[i]!);
        rowids.added();
      }
      rowids.flush();
    })();
  } finally {
    db.unsafeMode(false);
  }
}

/** 2^21: entries up to this many are ordered by a numeric sort of (entity, read order) keys first. */
const SPLIT = 2_097_152;

/**
 * The entries' order in the tree: by entity, then first valid day, then id. With fewer than
 * 2^21 entries, a numeric sort of one float each (the entity's key above the entry's place,
 * 53 bits) groups them by entity, and only each entity's few entries are compared by day and
 * id; the comparison sort of every entry by all three cost ~2-3 times as much.
 */
function entryOrder(boxes: Int32Array, ids: readonly number[]): ArrayLike<number> {
  const n = ids.length;
  const byAll = (a: number, b: number): number => boxes[a * COORDS]! - boxes[b * COORDS]! || boxes[a * COORDS + 2]! - boxes[b * COORDS + 2]! || ids[a]! - ids[b]!;
  if (n >= SPLIT) return Array.from({ length: n }, (_, i) => i).sort(byAll);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = (boxes[i * COORDS]! + 2_147_483_648) * SPLIT + i;
  keys.sort();
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = keys[k]! % SPLIT;
  // Within an entity the entries are in read order; by first day, then id.
  const byDay = (a: number, b: number): number => boxes[a * COORDS + 2]! - boxes[b * COORDS + 2]! || ids[a]! - ids[b]!;
  for (let from = 0; from < n; ) {
    const e = boxes[order[from]! * COORDS]!;
    let to = from + 1;
    while (to < n && boxes[order[to]! * COORDS] === e) to++;
    if (to - from > 1) {
      const group = order.subarray(from, to);
      // Often in order already (one entity's rows written in date order): checked before sorting.
      let sorted = true;
      for (let k = from + 1; k < to && sorted; k++) if (byDay(order[k - 1]!, order[k]!) > 0) sorted = false;
      if (!sorted) group.set(Array.from(group).sort(byDay));
    }
    from = to;
  }
  return order;
}
