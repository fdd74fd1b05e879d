/**
 * `annals audit verify --log export.ndjson --head head.json [--previous-head old.json]`: the
 * audit checked from files alone — no data dir, no service, no key file (src/audit/offline.ts
 * says what is checked). Reads no configuration: an auditor runs it on their own machine.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createPublicKey } from 'node:crypto';
import { parseVerifierKey } from '../audit/checkpoint.js';
import { fileLines, parseCheckpointFile, parseHeadFile, verifyOffline, type HeadWithKey } from '../audit/offline.js';
import type { Command } from './main.js';
import { CliError, EXIT, message, usageError } from './common.js';

const HELP = `annals audit verify — check an export of the log against signed tree heads, offline

Usage: annals audit verify --log EXPORT --head HEAD [--previous-head HEAD] [--heads HEADS] [--key KEY] [--key-id HEX] [--json]

  --log FILE            the log as NDJSON: GET /v1/audit/events or 'annals export', from the start
  --head FILE           a signed head with its public key: the answer of GET /v1/audit/tree-head;
                        or a C2SP checkpoint (the text of GET /v1/audit/checkpoint), with --key
  --key KEY             the key a checkpoint is checked with: its verifier key (name+id+key, as
                        in GET /v1/audit/tree-head's checkpoint.verifierKey), a file holding it,
                        a public key PEM file, or the saved answer of GET /v1/audit/tree-head
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

/** The key a checkpoint is checked with (--key): a verifier key, a public key PEM file, or a saved GET /v1/audit/tree-head answer. */
interface CheckpointKey {
  readonly publicKeyPem: string;
  readonly name: string | null;
}

const VKEY = /^[^+\s]+\+[0-9a-fA-F]{8}\+[A-Za-z0-9+/]+={0,2}$/;

function checkpointKeyOf(arg: string): CheckpointKey {
  const pemOf = (raw: Buffer): string => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  const vkey = (v: string, where: string): CheckpointKey => {
    try {
      const k = parseVerifierKey(v);
      return { publicKeyPem: pemOf(k.publicKey), name: k.name };
    } catch (err) {
      throw new CliError(EXIT.input, `${where}: ${message(err)}`);
    }
  };
  if (VKEY.test(arg.trim())) return vkey(arg.trim(), `--key ${arg}`);
  const text = read(arg);
  if (VKEY.test(text.trim())) return vkey(text.trim(), `--key ${arg}`);
  if (text.trimStart().startsWith('-----BEGIN PUBLIC KEY-----')) return { publicKeyPem: text, name: null };
  try {
    const doc = JSON.parse(text) as { publicKey?: { pem?: unknown }; checkpoint?: { verifierKey?: unknown } | null };
    if (typeof doc.checkpoint?.verifierKey === 'string') return vkey(doc.checkpoint.verifierKey, `--key ${arg} (checkpoint.verifierKey)`);
    if (typeof doc.publicKey?.pem === 'string') return { publicKeyPem: doc.publicKey.pem, name: null };
  } catch {
    // Not JSON: said below.
  }
  throw new CliError(EXIT.input, `--key ${arg}: expected a verifier key (name+id+key), a public key PEM file, or a saved GET /v1/audit/tree-head answer`);
}

function headsOf(path: string, label: string, key: () => CheckpointKey): HeadWithKey[] {
  const text = read(path);
  // A C2SP checkpoint (GET /v1/audit/checkpoint) is text, not JSON: its key comes apart.
  if (!text.trimStart().startsWith('{')) return [parseCheckpointFile(text, label, key())];
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
  options: null,
  async run({ args, io }) {
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
        options: { log: { type: 'string' }, head: { type: 'string' }, key: { type: 'string' }, 'previous-head': { type: 'string' }, heads: { type: 'string' }, 'key-id': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
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
    const keyArg = values.key as string | undefined;
    let key: CheckpointKey | null = null;
    const keyFor = (): CheckpointKey => {
      if (keyArg === undefined) throw usageError('a C2SP checkpoint carries no public key: give --key (its verifier key, or the saved answer of GET /v1/audit/tree-head)');
      return (key ??= checkpointKeyOf(keyArg));
    };
    try {
      const prev = values['previous-head'] as string | undefined;
      const more = values.heads as string | undefined;
      heads = [
        ...headsOf(head, `--head ${head}`, keyFor),
        ...(prev ? headsOf(prev, `--previous-head ${prev}`, keyFor) : []),
        ...(more ? headsOf(more, `--heads ${more}`, keyFor) : []),
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
