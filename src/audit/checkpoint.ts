/**
 * Tree heads as C2SP checkpoints (https://c2sp.org/tlog-checkpoint), signed notes
 * (https://c2sp.org/signed-note) that transparency-log tools and witnesses read without our
 * code. The note text is three lines: the origin, the tree size in decimal, the base64 root;
 * then a blank line and one signature line `— <key name> base64(key ID || Ed25519 signature)`,
 * the key name being the origin and the key ID the first four bytes of
 * SHA-256(key name || 0x0A || 0x01 || the 32-byte public key).
 *
 * The tree is RFC 6962's (merkle.ts: SHA-256, leaf 0x00 || leaf, node 0x01 || left || right,
 * empty tree SHA-256("")), which a checkpoint's root must be. A checkpoint says no more than
 * its signed JSON head (signing.ts) of the same size: it is made from that head, with the same
 * key. The two signed messages cannot be taken for one another: a note text always holds
 * newlines, canonical JSON never does. Ed25519 signatures are deterministic, so the note of a
 * head is the same bytes each time it is made, and nothing more needs storing.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** Signature type byte of Ed25519 note signatures (signed-note, "Signature types"). */
const ED25519 = 0x01;
const EM_DASH = '\u2014';

/** Why an origin or key name is refused; null when it is fine (non-empty, no spaces, no `+`, no control characters). */
export function originProblem(origin: string): string | null {
  if (origin === '') return 'an origin must not be empty';
  if (/[\s+]/u.test(origin)) return 'an origin must hold neither spaces nor plus signs (it is also the key name of the signature)';
  if (/\p{Cc}/u.test(origin)) return 'an origin must hold no control characters';
  return null;
}

/** The 32-byte Ed25519 public key of a key object. */
export function rawPublicKey(key: KeyObject): Buffer {
  const x = key.export({ format: 'jwk' }).x;
  if (key.asymmetricKeyType !== 'ed25519' || typeof x !== 'string') throw new Error('not an Ed25519 key');
  return Buffer.from(x, 'base64url');
}

/** The note key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4]. */
export function noteKeyId(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`, 'utf8'), Buffer.from([ED25519]), publicKey])).digest().subarray(0, 4);
}

/** The verifier key (`<name>+<hex key ID>+base64(0x01 || public key)`) tools such as note verifiers take. */
export function verifierKey(name: string, publicKey: Buffer): string {
  return `${name}+${noteKeyId(name, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), publicKey]).toString('base64')}`;
}

/** The checkpoint's note text (what is signed), final newline included. */
export function checkpointText(origin: string, treeSize: number, rootHex: string): string {
  return `${origin}\n${treeSize}\n${Buffer.from(rootHex, 'hex').toString('base64')}\n`;
}

/** A signed checkpoint: the text, a blank line, the signature line. `privateKey` is the head's Ed25519 key. */
export function signCheckpoint(origin: string, treeSize: number, rootHex: string, privateKey: KeyObject): string {
  const problem = originProblem(origin);
  if (problem) throw new Error(problem);
  const text = checkpointText(origin, treeSize, rootHex);
  const signature = sign(null, Buffer.from(text, 'utf8'), privateKey);
  const keyId = noteKeyId(origin, rawPublicKey(createPublicKey(privateKey)));
  return `${text}\n${EM_DASH} ${origin} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
}

export interface Checkpoint {
  readonly origin: string;
  readonly treeSize: number;
  /** Lowercase hex, as in the JSON heads. */
  readonly rootHash: string;
}

/** A public key to check a checkpoint with: the key name (null: the checkpoint's origin) and the Ed25519 key. */
export interface NoteVerifier {
  readonly name: string | null;
  readonly publicKey: Buffer;
}

/** Reads a verifier key string (`name+hexid+base64(0x01||key)`); throws with the reason. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  // The name holds no plus sign; the base64 may.
  const m = /^([^+]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  if (!m) throw new Error('a verifier key is <name>+<8 hex digits>+<base64>');
  const [, name, id, b64] = m as unknown as [string, string, string, string];
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== 33 || bytes[0] !== ED25519) throw new Error('the verifier key is not an Ed25519 key (type byte 0x01 and 32 bytes)');
  const publicKey = bytes.subarray(1);
  if (noteKeyId(name, publicKey).toString('hex') !== id.toLowerCase()) throw new Error("the verifier key's ID does not match its name and key");
  return { name, publicKey };
}

/** A checkpoint's form is wrong (`bad-form`) or its signature does not hold (`bad-signature`). */
export class CheckpointError extends Error {
  constructor(
    readonly kind: 'bad-form' | 'bad-signature',
    message: string,
  ) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export interface ParsedCheckpoint extends Checkpoint {
  /** The signed text, final newline included. */
  readonly text: string;
  /** The signature lines: key name and the decoded `key ID || signature`. */
  readonly signatures: ReadonlyArray<{ readonly name: string; readonly bytes: Buffer }>;
}

/** Reads a signed checkpoint's form (signed-note, tlog-checkpoint), no signature checked; throws a CheckpointError (`bad-form`). */
export function parseCheckpoint(note: string): ParsedCheckpoint {
  const fail = (why: string): never => {
    throw new CheckpointError('bad-form', why);
  };
  if (!note.endsWith('\n')) fail('a signed note ends with a newline');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) fail('a signed note holds no control characters but newlines');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) fail('no blank line between the note text and its signatures');
  const text = note.slice(0, split + 1);
  const lines = text.slice(0, -1).split('\n');
  const [origin, size, root] = lines as [string, string | undefined, string | undefined];
  if (lines.length < 3 || lines.some((l) => l === '')) fail('a checkpoint text is at least three non-empty lines: origin, tree size, root hash');
  if (!/^(0|[1-9][0-9]*)$/.test(size as string) || !Number.isSafeInteger(Number(size))) fail(`tree size ${JSON.stringify(size)}: expected a decimal integer without leading zeroes`);
  const rootBytes = Buffer.from(root as string, 'base64');
  if (rootBytes.length !== 32 || rootBytes.toString('base64') !== root) fail(`root hash ${JSON.stringify(root)}: expected the base64 of 32 bytes`);
  const signatures = note
    .slice(split + 2, -1)
    .split('\n')
    .map((line) => {
      const m = new RegExp(`^${EM_DASH} (\\S+) ([A-Za-z0-9+/]+={0,2})$`).exec(line);
      return m ? { name: m[1] as string, bytes: Buffer.from(m[2] as string, 'base64') } : fail(`not a signature line: ${JSON.stringify(line)}`);
    });
  return { origin, treeSize: Number(size), rootHash: rootBytes.toString('hex'), text, signatures };
}

/**
 * Checks a signed checkpoint with a known key: its form, then the signature lines of that key
 * (its name and key ID); signatures of other keys are ignored, as signed-note says. Returns
 * the checkpoint, or throws a CheckpointError (`bad-form`, `bad-signature`).
 */
export function verifyCheckpoint(note: string, verifier: NoteVerifier): Checkpoint {
  const parsed = parseCheckpoint(note);
  const name = verifier.name ?? parsed.origin;
  const keyId = noteKeyId(name, verifier.publicKey);
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: verifier.publicKey.toString('base64url') }, format: 'jwk' });
  let verified = 0;
  for (const s of parsed.signatures) {
    if (s.name !== name || s.bytes.length < 4 || !s.bytes.subarray(0, 4).equals(keyId)) continue;
    if (!verify(null, Buffer.from(parsed.text, 'utf8'), publicKey, s.bytes.subarray(4))) {
      throw new CheckpointError('bad-signature', `the signature of ${name} does not verify: the checkpoint was changed, or signed by another key under the same name and ID`);
    }
    verified += 1;
  }
  if (verified === 0) throw new CheckpointError('bad-signature', `no signature by the key ${name} (key ID ${keyId.toString('hex')}): signed by another key, or under another name`);
  return { origin: parsed.origin, treeSize: parsed.treeSize, rootHash: parsed.rootHash };
}

/** What serves checkpoints: the origin (configured, or derived from the log's identity) and the latest head's note. */
export interface Checkpoints {
  /** ANNALS_AUDIT_ORIGIN, else `annals/<the log's identity>` (store/identity.ts: the embedded store's random id, or the first event's id). */
  origin(): Promise<string>;
  /** The verifier key of the signing key under that origin. */
  verifierKey(): Promise<string>;
  /** The latest signed head as a checkpoint; null before the first head. */
  latest(): Promise<{ note: string; treeSize: number } | null>;
}

export interface CheckpointsOptions {
  readonly key: { readonly publicKeyPem: string; checkpointOf(head: { treeSize: number; rootHash: string; keyId: string }, origin: string): string };
  readonly head: () => Promise<{ treeSize: number; rootHash: string; keyId: string } | null>;
  /** ANNALS_AUDIT_ORIGIN; undefined: derived from the log's identity. */
  readonly origin: string | undefined;
  readonly identity: () => Promise<string | null>;
}

/** The log is empty and no origin is configured: the origin (its identity) is not known yet. */
export class NoOriginError extends Error {
  constructor() {
    super('the log is empty and ANNALS_AUDIT_ORIGIN is not set: its checkpoints are named after its identity, known from its first event; retry once something is recorded');
    this.name = 'NoOriginError';
  }
}

export function checkpoints(o: CheckpointsOptions): Checkpoints {
  let origin = o.origin ?? null;
  const publicKey = rawPublicKey(createPublicKey(o.key.publicKeyPem));
  const originOf = async (): Promise<string> => {
    if (origin !== null) return origin;
    const identity = await o.identity();
    if (identity === null) throw new NoOriginError();
    // `sqlite:<uuid>` or `first-event:<uuid>`: no spaces nor plus signs.
    origin = `annals/${identity.replace(':', '/')}`;
    return origin;
  };
  let last: { treeSize: number; rootHash: string; note: string } | null = null;
  return {
    origin: originOf,
    verifierKey: async () => verifierKey(await originOf(), publicKey),
    async latest() {
      const head = await o.head();
      if (head === null) return null;
      if (last?.treeSize !== head.treeSize || last.rootHash !== head.rootHash) last = { treeSize: head.treeSize, rootHash: head.rootHash, note: o.key.checkpointOf(head, await originOf()) };
      return { note: last.note, treeSize: last.treeSize };
    },
  };
}
