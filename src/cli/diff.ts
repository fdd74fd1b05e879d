/**
 * `annals diff --since T1 --until T2 [--json]`: the state of everything as the record stood
 * at T1 against T2 (each what `annals replay --known-at` prints), entity by entity (added,
 * changed field by field, removed), with the facts recorded, corrected and retracted in
 * between (and why). The log is folded once into fresh read models in a temporary directory,
 * as replay does (buildFresh, then the entities at each moment: the read models are bitemporal),
 * so the data dir is only read and this works beside a running service.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadQueries, buildFresh } from '../../projections/index.js';
import { openDb } from '../../projections/db.js';
import { allChanges, type ChangeItem } from '../audit/changes.js';
import type { Command } from './main.js';
import { EXIT, GLOBAL_HELP, parseKnownAt, usageError, withStore } from './common.js';
import type { EntityKind } from '../../events/index.js';
import { entitiesAt } from './state.js';
import type { Database as Db } from 'better-sqlite3';

const HELP = `annals diff — what changed in the record between two moments

Usage: annals diff --since T1 [--until T2] [--json] [--pretty]

  --since T1    the earlier moment (RFC 3339 UTC with milliseconds, e.g. 2025-12-01T00:00:00.000Z)
  --until T2    the later moment (default: now)
  --json        print the difference as JSON instead of a summary
  --pretty      indent the JSON

Compares the state of everything as the record stood at T1 with the state at T2 (what
'annals replay --known-at' prints at each): entities added, changed (field by field, before
and after) and removed, and lists the facts recorded, corrected and retracted after T1 and at
or before T2, with each correction's data before and after and each reason. The log is
replayed into fresh read models in a temporary directory: the data dir is only read.
${GLOBAL_HELP}`;

const KINDS = { organizations: 'organization', offices: 'office', people: 'person', sessions: 'session', documents: 'document' } as const;
type Section = keyof typeof KINDS;

type Entity = Record<string, unknown> & { id: string };

/** The state of everything at a moment, by kind (what `annals replay --known-at` streams), held whole: a diff compares two. */
export type StateOfRecord = { knownAt: string } & Record<Section, Entity[]>;
const SECTION_OF: Record<EntityKind, Section> = { organization: 'organizations', office: 'offices', person: 'people', session: 'sessions', document: 'documents' };

export function stateAt(queries: ReadQueries, db: Db, knownAt: string): StateOfRecord {
  const state: StateOfRecord = { knownAt, organizations: [], offices: [], people: [], sessions: [], documents: [] };
  for (const { entity, ...rest } of entitiesAt(queries, db, knownAt)) state[SECTION_OF[entity]].push(rest as Entity);
  return state;
}

export interface EntityRef {
  kind: string;
  id: string;
  key: string | null;
  name: string | null;
}

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

export interface Difference {
  since: string;
  until: string;
  facts: ChangeItem[];
  added: (EntityRef & { entity: unknown })[];
  changed: (EntityRef & { fields: FieldChange[] })[];
  removed: (EntityRef & { entity: unknown })[];
}

const refOf = (kind: string, e: Entity): EntityRef => ({ kind, id: e.id, key: (e['key'] as string | null | undefined) ?? null, name: ((e['name'] ?? e['title']) as string | null | undefined) ?? null });
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Two states of the record compared entity by entity, field by field. */
export function compareStates(a: StateOfRecord, b: StateOfRecord, facts: ChangeItem[]): Difference {
  const out: Difference = { since: a.knownAt, until: b.knownAt, facts, added: [], changed: [], removed: [] };
  for (const [section, kind] of Object.entries(KINDS) as [Section, string][]) {
    const before = new Map((a[section] as Entity[]).map((e) => [e.id, e]));
    const after = new Map((b[section] as Entity[]).map((e) => [e.id, e]));
    for (const [id, e] of after) {
      const old = before.get(id);
      if (!old) {
        out.added.push({ ...refOf(kind, e), entity: e });
        continue;
      }
      const fields: FieldChange[] = [];
      for (const field of new Set([...Object.keys(old), ...Object.keys(e)])) {
        if (!same(old[field], e[field])) fields.push({ field, before: old[field] ?? null, after: e[field] ?? null });
      }
      if (fields.length) out.changed.push({ ...refOf(kind, e), fields });
    }
    for (const [id, e] of before) if (!after.has(id)) out.removed.push({ ...refOf(kind, e), entity: e });
  }
  return out;
}

const label = (r: EntityRef): string => `${r.kind} ${r.key ?? r.id}${r.name ? ` (${r.name})` : ''}`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The difference for people: one line per fact and entity, a changed list as items gone (-) and come (+). */
export function summary(d: Difference): string {
  const lines: string[] = [`The record at ${d.since} against ${d.until}`, ''];
  const count = (k: ChangeItem['kind']) => d.facts.filter((f) => f.kind === k).length;
  lines.push(`${plural(d.facts.length, 'fact')} in between: ${count('recorded')} recorded, ${count('correction')} corrected, ${count('retraction')} retracted`);
  for (const f of d.facts) {
    if (f.kind === 'recorded') lines.push(`  recorded   ${f.type} ${f.factId} at ${f.recordedAt}`);
    else lines.push(`  ${f.kind === 'correction' ? 'corrected' : 'retracted'}  ${f.fact?.type} ${f.fact?.factId} at ${f.recordedAt} by ${f.factId}: ${JSON.stringify(f.reason)}`);
  }
  lines.push('', `Entities: ${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed`);
  for (const e of d.added) lines.push(`  added    ${label(e)}`);
  for (const e of d.removed) lines.push(`  removed  ${label(e)}`);
  for (const e of d.changed) {
    lines.push(`  changed  ${label(e)}`);
    for (const f of e.fields) {
      if (Array.isArray(f.before) && Array.isArray(f.after)) {
        const was = f.before as unknown[];
        const now = f.after as unknown[];
        lines.push(`    ${f.field}:`);
        for (const x of was) if (!now.some((y) => same(x, y))) lines.push(`      - ${JSON.stringify(x)}`);
        for (const y of now) if (!was.some((x) => same(x, y))) lines.push(`      + ${JSON.stringify(y)}`);
      } else {
        lines.push(`    ${f.field}: ${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

export const diffCommand: Command = {
  name: 'diff',
  summary: 'what changed between --since T1 and --until T2 (summary or JSON)',
  help: HELP,
  options: { since: { type: 'string' }, until: { type: 'string' }, json: { type: 'boolean' }, pretty: { type: 'boolean' } },
  async run(call) {
    const { io } = call;
    const since = parseKnownAt(call.values['since'] as string | undefined, '--since');
    if (since === undefined) throw usageError('--since T1 is required, e.g. --since 2025-12-01T00:00:00.000Z');
    const until = parseKnownAt(call.values['until'] as string | undefined, '--until') ?? new Date().toISOString();
    if (since > until) throw usageError(`--since ${since} is after --until ${until}: give the earlier moment first`);
    const config = call.config;
    const log = call.log;
    return await withStore(config, async (store) => {
      const dir = await mkdtemp(join(tmpdir(), 'annals-diff-'));
      try {
        const path = join(dir, 'readmodels.db');
        await buildFresh(store, path, log);
        const db = openDb(path);
        try {
          const queries = new ReadQueries(db);
          const facts = await allChanges(queries, store, { since, until, scope: null });
          const d = compareStates(stateAt(queries, db, since), stateAt(queries, db, until), facts);
          io.stdout.write(call.values.json ? `${JSON.stringify(d, null, call.values.pretty ? 2 : undefined)}\n` : summary(d));
        } finally {
          db.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return EXIT.ok;
    }, { oneRead: true });
  },
};
