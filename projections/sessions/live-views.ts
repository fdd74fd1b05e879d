/**
 * The live writer's texts of session items (stored.ts), made in JS from the entity views it
 * holds instead of six subqueries of `entities` in the row's INSERT (#19: those and the two
 * indexes took a batch fact's store writer from ~61 to ~100 µs).
 *
 * A view is held for an entity with one open version, with `since`: the last moment at which a
 * version of it opened or closed. For a row known from k >= since, VIEW_AS_OF(k) is that open
 * version and NEXT_CHANGE(k) is OPEN_END (every closed version ended at or before since), so
 * the text here is what stored.ts's SQL makes; for k < since (a log whose recording times go
 * back), an entity with no version or with several open, the caller falls back to that SQL.
 *
 * Kept from the writes themselves: an entity's creation (a fresh id, the creating fact's own)
 * holds its view from its row; any other change of its versions drops it (read again at the
 * next use); a rolled-back batch or event drops them all (the writer calls `clear`).
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { OPEN_END } from '../../events/index.js';

interface Held {
  text: string;
  since: string;
}

/** A JSON string as SQLite's json_quote writes it (the same as JSON.stringify for text with no surrogates: every other code point compared, SQLite 3.53), or undefined when they may differ. */
export function jsonQuote(v: unknown): string | undefined {
  if (v === null || v === undefined) return 'null';
  // A surrogate (a lone one is stored as U+FFFD, JSON.stringify escapes it): left to SQL.
  if (typeof v !== 'string' || /[\ud800-\udfff]/.test(v)) return undefined;
  return JSON.stringify(v);
}

/** The view text `{ id, key, name }` (offices: `title`) of an entity's version, as stored.ts VIEW_AS_OF writes it, or undefined when JS cannot write it the same. */
export function viewText(id: string, kind: unknown, key: unknown, name: unknown): string | undefined {
  const k = jsonQuote(key);
  const n = jsonQuote(name);
  if (k === undefined || n === undefined) return undefined;
  return `{"id":"${id}","key":${k},${kind === 'office' ? '"title"' : '"name"'}:${n}}`;
}

/** At most this many views held (~10 MB), then all dropped at once: the store writer is a thread of the server (RSS <= 512 MB, #12). */
const MAX_HELD = 50_000;

export class LiveViews {
  private readonly held = new Map<string, Held>();
  private readonly versions: Statement;

  constructor(db: Db) {
    this.versions = db.prepare('SELECT kind, key, name, known_from, known_to FROM entities WHERE id = ?').raw();
  }

  /** The view of `id` for a row known from `k`, with no change of it after k; undefined: use the SQL. */
  view(id: string, k: string): string | undefined {
    const h = this.held.get(id) ?? this.read(id);
    return h !== undefined && k >= h.since ? h.text : undefined;
  }

  /** An entity created at `at` (its first version, from its row). */
  created(id: string, kind: unknown, key: unknown, name: unknown, at: string): void {
    const text = viewText(id, kind, key, name);
    if (text === undefined) this.held.delete(id);
    else this.hold(id, { text, since: at });
  }

  /** An entity's versions changed otherwise (a correction, a retraction): read again at its next use. */
  changed(id: string): void {
    this.held.delete(id);
  }

  /** A rolled-back batch or event: what was held may be of rows no longer there. */
  clear(): void {
    this.held.clear();
  }

  private read(id: string): Held | undefined {
    let since = '';
    let open: unknown[] | undefined;
    for (const v of this.versions.all(id) as unknown[][]) {
      const [kind, key, name, from, to] = v as [unknown, unknown, unknown, string, string];
      if (from > since) since = from;
      if (to === OPEN_END) {
        if (open) return undefined; // two open versions: which one SQL picks is its business
        open = [kind, key, name];
      } else if (to > since) since = to;
    }
    if (!open) return undefined;
    const text = viewText(id, open[0], open[1], open[2]);
    if (text === undefined) return undefined;
    const h = { text, since };
    this.hold(id, h);
    return h;
  }

  private hold(id: string, h: Held): void {
    if (this.held.size >= MAX_HELD) this.held.clear();
    this.held.set(id, h);
  }
}

/**
 * A bulk build's texts of session items, made in JS as the rows are buffered, so they go into
 * the sorted copy with their rows (an UPDATE of every row after it, as before, cost ~3.5 s of
 * CPU and split the packed pages: +126 MB). An entity's view is held from its creation; an id
 * that changes afterwards (a correction or retraction of it, a second creation) or is named by
 * a row it cannot be given for (not created yet, created after the row's moment) is `dirty`:
 * finishBulk derives the rows naming a dirty id with the SQL (stored.ts), and every row when
 * `full` (a text JS cannot write the same). For a row naming only ids with one version ever,
 * known from at or before the row, stored.ts's SQL makes what is here: the views of those
 * versions and views_to OPEN_END.
 */
export class BuildViews {
  private readonly held = new Map<string, Held>();
  readonly dirty = new Set<string>();
  /** A row whose text JS could not write and whose ids are not all dirty: derive every row. */
  full: boolean;

  /** hold: false when the build's memory must stay bounded (a replay): no view held, every row derived at the end (as before). */
  constructor(private readonly hold: boolean) {
    this.full = !hold;
  }

  view(id: string, k: string): string | undefined {
    if (!this.hold) return undefined;
    const h = this.dirty.has(id) ? undefined : this.held.get(id);
    if (h !== undefined && k >= h.since) return h.text;
    this.dirty.add(id);
    return undefined;
  }

  created(id: string, kind: unknown, key: unknown, name: unknown, at: string): void {
    if (!this.hold) return;
    const text = viewText(id, kind, key, name);
    if (text === undefined || this.held.has(id)) this.dirty.add(id);
    else this.held.set(id, { text, since: at });
  }

  changed(id: string): void {
    if (this.hold) this.dirty.add(id);
  }
}
