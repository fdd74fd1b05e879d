/**
 * `annals audit verify --log export.ndjson --head head.json [--previous-head old.json]`: the
 * audit checked from files alone — no data dir, no service, no key file (src/audit/offline.ts
 * says what is checked). Reads no configuration: an auditor runs it on their own machine.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileLines, parseHeadFile, verifyOffline, type HeadWithKey } from '../audit/offline.js';
import type { Command } from './main.js';
import { CliError, EXIT, message, usageError } from './common.js';

const HELP = `annals audit verify — check an export of the log against signed tree heads, offline

Usage: annals audit verify --log EXPORT --head HEAD [--previous-head HEAD] [--heads HEADS] [--key-id HEX] [--json]

  --log FILE            the log as NDJSON: GET /v1/audit/events or 'annals export', from the start
  --head FILE           a signed head with its public key: the answer of GET /v1/audit/tree-head
  --previous-head FILE  an earlier head (kept from an earlier audit): the log must have only grown
  --heads FILE          more heads (the answer of GET /v1/audit/tree-heads, with its publicKey),
                        to place a change more narrowly
  --key-id HEX          the key id every head must be signed by (else: the --head's key)
  --json                the report as JSON on stdout

Needs no data dir, no service and no key: the files alone. Checks each head's Ed25519
signature with the public key it carries, that all heads are of one key, every export line
(JSON, every member of the leaf, positions rising without a gap on the embedded store, each
stream's revisions in order), the RFC 9162 root of the first treeSize events against each
head, and that the earlier head is a prefix of the later one. Each problem names its position
(or the positions between which the first changed event lies) or the reason.

Exit codes:
  0  everything checks
  1  a problem was found (each printed on stdout, one a line)
  2  usage: unknown option, a missing file option
  3  a file cannot be read, or a head file is not a signed head with its public key
`;

function headsOf(path: string, label: string): HeadWithKey[] {
  const text = read(path);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [parseHeadFile(text, label)];
  }
  const list = (doc as { heads?: unknown }).heads;
  if (!Array.isArray(list)) return [parseHeadFile(text, label)];
  const publicKey = (doc as { publicKey?: unknown }).publicKey;
  return list.map((head, i) => parseHeadFile(JSON.stringify({ head, publicKey }), `${label} #${i + 1} (treeSize ${(head as { treeSize?: unknown }).treeSize})`));
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(EXIT.input, `cannot read ${path}: ${message(err)}`);
  }
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'audit verify: check an export against signed tree heads, from files alone',
  help: HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      io.stdout.write(HELP);
      return sub === undefined ? EXIT.usage : EXIT.ok;
    }
    if (sub !== 'verify') throw usageError(`unknown subcommand '${sub}': the one there is is 'audit verify'`);
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({
        args: rest,
        options: { log: { type: 'string' }, head: { type: 'string' }, 'previous-head': { type: 'string' }, heads: { type: 'string' }, 'key-id': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (err) {
      throw usageError(message(err));
    }
    if (values.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const log = values.log as string | undefined;
    const head = values.head as string | undefined;
    if (!log || !head) throw usageError(`missing ${!log ? '--log' : '--head'}`);
    const keyId = values['key-id'] as string | undefined;
    if (keyId !== undefined && !/^[0-9a-f]{64}$/.test(keyId)) throw usageError(`--key-id ${JSON.stringify(keyId)}: expected 64 lowercase hex digits (a head's keyId)`);
    let heads: HeadWithKey[];
    try {
      const prev = values['previous-head'] as string | undefined;
      const more = values.heads as string | undefined;
      heads = [
        ...headsOf(head, `--head ${head}`),
        ...(prev ? headsOf(prev, `--previous-head ${prev}`) : []),
        ...(more ? headsOf(more, `--heads ${more}`) : []),
      ];
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(EXIT.input, message(err));
    }
    try {
      accessSync(log, constants.R_OK); // an unreadable export is exit 3, before anything is printed
    } catch (err) {
      throw new CliError(EXIT.input, `cannot read ${log}: ${message(err)}`);
    }
    let report;
    try {
      report = await verifyOffline(fileLines(log), heads, keyId ? { keyId } : {});
    } catch (err) {
      throw new CliError(EXIT.input, `cannot read ${log}: ${message(err)}`);
    }
    if (values.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (report.ok) {
      const main = heads[0] as HeadWithKey;
      io.stdout.write(`ok: ${report.events} events; ${heads.length} head(s) signed by key ${main.head.keyId}; the first ${main.head.treeSize} events give root ${main.head.rootHash}\n`);
    } else {
      for (const p of report.problems) io.stdout.write(`${p.kind}: ${p.message}\n`);
    }
    return report.ok ? EXIT.ok : EXIT.refused;
  },
};
