/**
 * `annals export [--known-at T] [--out FILE]`: the log as NDJSON, one event a line in global
 * order, the same lines as GET /v1/audit/events: `{ position, id, stream, revision, type, factId,
 * recordedAt, data, metadata }`, bookkeeping events included. With --known-at, only what was
 * recorded by then. `annals import` reads these lines back.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { EventStore, StoredEvent } from '../store/port.js';
import type { Command } from './main.js';
import { CliError, EXIT, GLOBAL_HELP, message, parseKnownAt, withStore } from './common.js';

const PAGE = 1000;

export interface AuditLine {
  position: string;
  /** The event id: a member of the audit leaf (src/audit/leaf.ts), so a line alone gives its leaf hash. */
  id: string;
  stream: string;
  revision: number;
  type: string;
  factId: string | null;
  recordedAt: string;
  data: unknown;
  metadata: Readonly<Record<string, unknown>>;
}

export function auditLine(e: StoredEvent): AuditLine {
  const fromData = e.data && typeof e.data === 'object' ? (e.data as Record<string, unknown>).factId : undefined;
  const factId = typeof e.metadata.factId === 'string' ? e.metadata.factId : typeof fromData === 'string' ? fromData : null;
  return { position: e.position, id: e.id, stream: e.stream, revision: e.revision, type: e.type, factId, recordedAt: e.recordedAt, data: e.data, metadata: e.metadata };
}

/** Every event recorded by `knownAt` (all without it), page by page, in global order. */
export async function* logEvents(store: EventStore, knownAt?: string): AsyncGenerator<StoredEvent> {
  let after: string | undefined;
  for (;;) {
    const page = await store.readAll(after === undefined ? { limit: PAGE } : { after, limit: PAGE });
    for (const e of page) if (knownAt === undefined || e.recordedAt <= knownAt) yield e;
    if (page.length < PAGE) return;
    after = page[page.length - 1]?.position;
  }
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

const HELP = `annals export — the log as NDJSON (the lines of GET /v1/audit/events)

Usage: annals export [--known-at T] [--out FILE]

  --known-at T   only events recorded at or before T (RFC 3339 UTC with milliseconds,
                 e.g. 2025-12-01T00:00:00.000Z); default: everything
  --out FILE     write to FILE (created or replaced); default: stdout

Prints the number of events written to stderr. 'annals import FILE' loads the file back.
${GLOBAL_HELP}`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'the log as NDJSON, to stdout or a file (--known-at T: as recorded by then)',
  help: HELP,
  options: { 'known-at': { type: 'string' }, out: { type: 'string', short: 'o' } },
  async run(call) {
    const { io } = call;
    const knownAt = parseKnownAt(call.values['known-at'] as string | undefined);
    const outPath = call.values.out as string | undefined;
    const config = call.config;
    return await withStore(config, async (store) => {
      let out: NodeJS.WritableStream = io.stdout;
      let file: ReturnType<typeof createWriteStream> | undefined;
      if (outPath !== undefined) {
        file = createWriteStream(outPath);
        try {
          await once(file, 'open');
        } catch (err) {
          throw new CliError(EXIT.input, `cannot write ${outPath}: ${message(err)}`);
        }
        out = file;
      }
      let count = 0;
      for await (const e of logEvents(store, knownAt)) {
        await write(out, `${JSON.stringify(auditLine(e))}\n`);
        count += 1;
      }
      if (file) {
        file.end();
        await once(file, 'finish');
      }
      io.stderr.write(`exported ${count} events${knownAt ? ` recorded by ${knownAt}` : ''}${outPath ? ` to ${outPath}` : ''}\n`);
      return EXIT.ok;
    }, { oneRead: true });
  },
};
