/**
 * The tamper-evident log over HTTP (auditor or admin token): the latest signed tree head and
 * the key that signs it, the history of heads, inclusion and consistency proofs (RFC 9162),
 * signing a head on demand, and verify. The work is src/audit's; its errors (AuditError) are
 * mapped with every other in errors.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NoOriginError } from '../../audit/checkpoint.js';
import { LEAF_FORMAT } from '../../audit/leaf.js';
import type { AuditLog } from '../../audit/tree-head.js';
import { requireRole } from '../auth.js';
import { ProblemError } from '../errors.js';
import { ConsistencyAnswer, InclusionAnswer, SignedHeadAnswer, TreeHeadAnswer, TreeHeadsAnswer, VerifyAnswer, WitnessAnswer } from '../answers.js';

const Size = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,14})$/, 'expected a non-negative integer')
  .transform(Number);
const Position = z.string().min(1).max(100).describe('A position as the store gives it (e.g. in a write answer or the audit export)');

const HeadsQuery = z
  .object({
    from: Size.optional().describe('Smallest tree size (default 0)'),
    to: Size.optional().describe('Largest tree size (default: any)'),
    limit: Size.pipe(z.number().min(1).max(10_000)).optional().describe('At most this many heads, oldest first (default 1000)'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });
const InclusionQuery = z.object({
  position: Position,
  treeSize: Size.optional().describe('Size of the tree to prove inclusion in (default: the latest signed head)'),
});
const ConsistencyQuery = z
  .object({
    from: Size.describe('The older tree size'),
    to: Size.optional().describe('The newer tree size (default: the latest signed head)'),
  })
  .refine((q) => q.to === undefined || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

const ABOUT = {
  hashAlgorithm: 'SHA-256, RFC 9162 §2.1 (leaf: 0x00 || leaf bytes, node: 0x01 || left || right)',
  leafFormat: LEAF_FORMAT,
  signatureAlgorithm: 'Ed25519 over the canonical JSON (RFC 8785) of the head without its signature',
};

/** The checkpoints' origin and verifier key; null while the log is empty and no origin is configured. */
async function checkpointKey(app: FastifyInstance): Promise<{ origin: string; verifierKey: string; format: string } | null> {
  const c = app.checkpoints;
  try {
    return { origin: await c.origin(), verifierKey: await c.verifierKey(), format: 'C2SP tlog-checkpoint, Ed25519 signed note: GET /v1/audit/checkpoint' };
  } catch (e) {
    if (e instanceof NoOriginError) return null;
    throw e;
  }
}

export async function auditTreeRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const preHandler = requireRole('auditor', 'admin');
  const audit = app.audit;
  const tags = ['audit'];
  const security = [{ bearer: [] }];

  r.get('/v1/audit/tree-head', { preHandler, schema: { operationId: 'getTreeHead', response: { 200: TreeHeadAnswer }, tags, security, summary: 'The latest signed tree head, the tree as it stands, and the public key' } }, async () => {
    const [head, tree, checkpoint] = await Promise.all([audit.head(), audit.state(), checkpointKey(app)]);
    return { head, tree, publicKey: { keyId: audit.keyId, algorithm: 'Ed25519', pem: audit.publicKeyPem }, ...ABOUT, checkpoint };
  });

  r.get(
    '/v1/audit/checkpoint',
    {
      preHandler,
      // A text answer, never JSON: sent as it is.
      serializerCompiler: () => (data) => String(data),
      schema: {
        operationId: 'getCheckpoint',
        tags,
        security,
        summary: 'The latest signed tree head as a C2SP checkpoint (tlog-checkpoint, a signed note)',
        description:
          'The same head as GET /v1/audit/tree-head, as https://c2sp.org/tlog-checkpoint: the origin (ANNALS_AUDIT_ORIGIN, else `annals/<the log identity>`), the tree size, the base64 RFC 6962 root, a blank line, and the Ed25519 note signature (https://c2sp.org/signed-note) of the same key, its key name the origin. Its verifier key is `checkpoint.verifierKey` in GET /v1/audit/tree-head. 503 before the first head.',
        response: { 200: { description: 'The signed note', content: { 'text/plain': { schema: z.string() } } } },
      },
    },
    async (_req, reply) => {
      const latest = (await app.checkpoints.latest()) ?? undefined;
      if (latest === undefined) throw new ProblemError('unavailable', 'no tree head has been signed yet; POST /v1/audit/tree-head or retry shortly', {}, { 'retry-after': '1' });
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(latest.note);
    },
  );

  r.post('/v1/audit/tree-head', { preHandler, schema: { operationId: 'signTreeHead', response: { 201: SignedHeadAnswer.describe('The head just signed') }, tags, security, summary: 'Sign a tree head over the log as it stands now', description: 'Answers 201 with the new signed head (a new head every call, even when the tree did not grow).' } }, async (_req, reply) => {
    const head = await audit.signHead();
    return reply.code(201).send({ head });
  });

  r.get('/v1/audit/tree-heads', { preHandler, schema: { operationId: 'listTreeHeads', response: { 200: TreeHeadsAnswer }, tags, security, summary: 'Signed tree heads with from <= treeSize <= to, oldest first', querystring: HeadsQuery } }, async (req) => {
    const { from, to, limit } = req.query;
    const heads = await audit.heads({ ...(from === undefined ? {} : { fromSize: from }), ...(to === undefined ? {} : { toSize: to }), limit: limit ?? 1000 });
    return { heads, publicKey: { keyId: audit.keyId, algorithm: 'Ed25519', pem: audit.publicKeyPem } };
  });

  r.get('/v1/audit/witness', { preHandler, schema: { operationId: 'getWitness', response: { 200: WitnessAnswer }, tags, security, summary: 'The witness webhook: the last head it accepted, failures in a row, the last error, the next attempt' } }, async () => {
    const w = app.witness?.status();
    return w ? { configured: true, ...w } : { configured: false };
  });

  r.get(
    '/v1/audit/proof/inclusion',
    { preHandler, schema: { operationId: 'getInclusionProof', response: { 200: InclusionAnswer }, tags, security, summary: 'Audit path of the event at a position in a tree (RFC 9162 §2.1.3)', querystring: InclusionQuery } },
    async (req) => audit.inclusionProof(req.query.position, req.query.treeSize),
  );

  r.get(
    '/v1/audit/proof/consistency',
    { preHandler, schema: { operationId: 'getConsistencyProof', response: { 200: ConsistencyAnswer }, tags, security, summary: 'Consistency proof between two tree sizes (RFC 9162 §2.1.4)', querystring: ConsistencyQuery } },
    async (req) => audit.consistencyProof(req.query.from, req.query.to),
  );

  r.post(
    '/v1/audit/verify',
    { preHandler, schema: { operationId: 'verifyLog', response: { 200: VerifyAnswer }, tags, security, summary: 'Re-read the whole log, recompute every leaf and root, check every signed head' } },
    async () => audit.verify(),
  );
}
