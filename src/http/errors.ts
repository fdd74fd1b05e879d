/**
 * Every error, on every endpoint, is application/problem+json (RFC 9457) with `type`,
 * `title`, `status`, `detail`. Each error is declared once here (a code, a title, a status,
 * what it means and what to do) and mapped in one handler; domain and store errors are
 * translated, never re-thrown raw.
 *
 * A problem's `type` is an absolute URI on the service that answered, made from the request's
 * origin (its protocol and Host, as ANNALS_TRUST_PROXY lets a proxy say them) when it is sent:
 * `http://127.0.0.1:3000/problems/not-found`. Fetching it answers the page describing the
 * problem (routes/problems.ts). Inside the process a problem carries the path alone.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ZodError } from 'zod';
import { DomainError, type FieldProblem } from '../domain/errors.js';
import { DuplicateEventError, StoreUnavailableError, WrongExpectedRevisionError } from '../store/errors.js';
import { AuditError } from '../audit/errors.js';
import { NoOriginError } from '../audit/checkpoint.js';
import { ReadModelsUnavailableError, RebuildFailedError, RebuildInProgressError, RebuildStoppedError } from '../../projections/index.js';

export const PROBLEMS = {
  'invalid-request': { status: 400, title: 'The request is not valid', about: 'A query parameter, a path segment or the body is not what the operation takes: `errors` names each bad field (`path`) and says what was expected (`message`). Nothing was recorded. Correct the fields named and send the request again; the OpenAPI document (/openapi.json) gives every field its shape.' },
  unauthorized: { status: 401, title: 'A valid credential is required', about: 'The operation needs a bearer token (Authorization: Bearer <token>) and none was sent, or the one sent is not valid. Tokens are configured in ANNALS_TOKENS as role:token pairs (or, unset, a recorder token is kept in the data dir as recorder.token).' },
  forbidden: { status: 403, title: 'This credential may not do that', about: 'The token is valid but of a role that may not do this: recording needs a recorder token, /v1/audit/* and /v1/admin/* an auditor or admin token, /metrics an admin token.' },
  'not-found': { status: 404, title: 'Not found', about: 'Nothing by that name is known: an entity (an id or a key) named in the path or a filter, a fact a correction names, or a path no route answers. With knownAt, the record as it stood then is searched: the entity may have been recorded later.' },
  'method-not-allowed': { status: 405, title: 'Method not allowed', about: 'The path exists but does not answer this method; `allowed` and the Allow header name the methods it does answer.' },
  'request-timeout': { status: 408, title: 'The request took too long to arrive', about: 'The request (headers and body) did not arrive within the server\'s request timeout (ANNALS_REQUEST_TIMEOUT_MS). Send it again over a faster connection, or split a large batch.' },
  conflict: { status: 409, title: 'The fact conflicts with the record', about: 'The fact breaks an invariant of the record (a key already taken, a second holder of a single-holder office on the same day, a document adopted twice, …), or another write to the same stream won a race, or a factId was reused with other content. Nothing was recorded. Read the record again, then send a fact that fits it (a race can simply be retried).' },
  'payload-too-large': { status: 413, title: 'The body is too large', about: 'The body is over the limit (ANNALS_BODY_LIMIT for one fact; POST /v1/facts/batch takes more). Split it into smaller batches.' },
  'uri-too-long': { status: 414, title: 'The URL is too long', about: 'The request line is longer than the server reads. Shorten the query (a cursor and the filters it was made with are all a next page needs).' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type', about: 'The body is not application/json (application/x-ndjson is taken by POST /v1/facts/batch too), or it names a charset other than UTF-8.' },
  'too-many-requests': { status: 429, title: 'Too many requests', about: 'A per-client limit was reached (requests without a credential, or with one that is not valid). Wait the seconds Retry-After says, then retry.' },
  'header-fields-too-large': { status: 431, title: 'The request headers are too large', about: 'The request headers are larger than the server reads. Send fewer or shorter headers (cookies included).' },
  unavailable: { status: 503, title: 'Not available right now', about: 'The service cannot answer now: it is shedding load, closing, catching up (a minPosition not applied yet), or the event store is not reachable. Nothing was recorded. Retry after the seconds Retry-After says.' },
  internal: { status: 500, title: 'Internal error', about: 'Something failed that should not have. It has been logged with the requestId of the answer: report that id. Whether a write was recorded can be checked with GET /v1/facts/{factId} when it had a factId.' },
} as const;
export type ProblemCode = keyof typeof PROBLEMS;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldProblem[];
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  constructor(
    readonly code: ProblemCode,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
  }
}

/** At most this many field problems are listed; `errorsOmitted` counts the rest. */
export const MAX_LISTED_ERRORS = 20;

export function problem(code: ProblemCode, detail: string, extensions: Record<string, unknown> = {}): Problem {
  const { status, title } = PROBLEMS[code];
  const errors = extensions['errors'];
  // A body with 40,000 unknown fields must not get a 2 MB answer: the first few say enough.
  if (Array.isArray(errors) && errors.length > MAX_LISTED_ERRORS) {
    return { type: `/problems/${code}`, title, status, detail, ...extensions, errors: errors.slice(0, MAX_LISTED_ERRORS), errorsOmitted: errors.length - MAX_LISTED_ERRORS };
  }
  return { type: `/problems/${code}`, title, status, detail, ...extensions };
}

/** `/data/term/to` → `data.term.to`. */
const dotted = (pointer: string): string => pointer.replace(/^\//, '').split('/').join('.');

export function zodProblems(error: ZodError, prefix = ''): FieldProblem[] {
  return error.issues.flatMap((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean);
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ path: [...path, k].join('.'), message: 'unknown field' }));
    return [{ path: path.join('.') || '(root)', message: i.message }];
  });
}

const DOMAIN_CODES = { invalid: 'invalid-request', not_found: 'not-found', conflict: 'conflict' } as const;

/** Maps anything thrown to a problem; unknown errors become a logged 500 with no detail leaked. */
export function toProblem(err: unknown, request?: FastifyRequest): { problem: Problem; headers: Record<string, string> } {
  if (err instanceof ProblemError) return { problem: problem(err.code, err.message, err.extensions), headers: err.headers };
  if (err instanceof DomainError) {
    const ext: Record<string, unknown> = {};
    if (err.extra.errors) ext['errors'] = err.extra.errors;
    if (err.extra.collidesWith) ext['collidesWith'] = err.extra.collidesWith;
    return { problem: problem(DOMAIN_CODES[err.kind], err.message, ext), headers: {} };
  }
  if (err instanceof ZodError) {
    const errors = zodProblems(err);
    return { problem: problem('invalid-request', describe(errors), { errors }), headers: {} };
  }
  if (err instanceof WrongExpectedRevisionError) {
    return {
      problem: problem('conflict', `another write to ${err.stream} won the race; read again and retry`, {
        stream: err.stream,
        expectedRevision: err.expected,
        actualRevision: err.actual,
      }),
      headers: {},
    };
  }
  if (err instanceof DuplicateEventError) {
    return { problem: problem('conflict', `factId already recorded with other content (event ${err.eventId}): use a new factId`), headers: {} };
  }
  // No checkpoint before the log's first event when no origin is configured.
  if (err instanceof NoOriginError) return { problem: problem('unavailable', err.message), headers: { 'retry-after': '1' } };
  if (err instanceof AuditError) {
    if (err.kind === 'invalid') return { problem: problem('invalid-request', err.message, { errors: [{ path: err.field ?? '(query)', message: err.message }] }), headers: {} };
    if (err.kind === 'not_found') return { problem: problem('not-found', err.message), headers: {} };
    return { problem: problem('unavailable', err.message), headers: { 'retry-after': '1' } };
  }
  // The read models' thread restarting (or stopping mid-request): retry shortly.
  if (err instanceof ReadModelsUnavailableError) return { problem: problem('unavailable', err.message), headers: { 'retry-after': '1' } };
  if (err instanceof RebuildInProgressError) return { problem: problem('conflict', 'a rebuild is already running; wait for it to finish'), headers: {} };
  // A rebuild that failed on its storage: the message says where the service stands and what to do. Retry-After as on
  // every 503, but a minute: running it again helps only once the disk has room (or the file opens), which an operator
  // sees to, and each attempt rebuilds everything (about a minute on the 1,000,000-fact record).
  // Stopped because the service is stopping: the message says the read models are as before and to run it again after the restart.
  if (err instanceof RebuildStoppedError) return { problem: problem('unavailable', err.message), headers: { 'retry-after': '60' } };
  if (err instanceof RebuildFailedError) return { problem: problem('unavailable', err.message), headers: { 'retry-after': '60' } };
  if (err instanceof StoreUnavailableError) {
    return { problem: problem('unavailable', `the event store is not reachable: ${err.message}; retry shortly`), headers: { 'retry-after': '1' } };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = (err as { validationContext?: string }).validationContext;
    const errors = err.validation.flatMap((v) => {
      const path = dotted(v.instancePath) || (context === 'body' ? '(body)' : context ?? '(root)');
      // An unknown field is named by its own path (`data.colour`), not its parent's.
      const keys = (v.params as { keys?: unknown }).keys;
      if (v.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
        const base = dotted(v.instancePath);
        return keys.map((k) => ({ path: base ? `${base}.${String(k)}` : String(k), message: 'unknown field' }));
      }
      return [{ path, message: v.message ?? 'invalid' }];
    });
    return { problem: problem('invalid-request', describe(errors), { errors }), headers: {} };
  }
  const fe = err as Partial<FastifyError> & { status?: number };
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { problem: problem('payload-too-large', 'the body is over the limit; split it (POST /v1/facts/batch takes up to 10,000 facts)'), headers: {} };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { problem: problem('unsupported-media-type', 'send application/json (or application/x-ndjson to /v1/facts/batch)'), headers: {} };
    case 'FST_ERR_BAD_URL': {
      const message = 'a part of the path does not decode (percent-escapes that are not UTF-8?)';
      return { problem: problem('invalid-request', message, { errors: [{ path: '(path)', message }] }), headers: {} };
    }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { problem: problem('invalid-request', 'the body is empty; send a JSON object', { errors: [{ path: '(body)', message: 'empty' }] }), headers: {} };
    default:
  }
  const status = fe.statusCode ?? fe.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = (Object.keys(PROBLEMS) as ProblemCode[]).find((c) => PROBLEMS[c].status === status) ?? 'invalid-request';
    const extensions = code === 'invalid-request' ? { errors: [{ path: '(body)', message: fe.message ?? 'invalid' }] } : {};
    return { problem: { ...problem(code, fe.message ?? 'bad request', extensions), status }, headers: {} };
  }
  request?.log.error({ err }, 'unhandled error');
  return { problem: problem('internal', 'an unexpected error occurred; it has been logged'), headers: {} };
}

function describe(errors: FieldProblem[]): string {
  const head = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
  return errors.length > 3 ? `${head}; and ${errors.length - 3} more` : head;
}

/** Where a request was addressed: `<protocol>://<host>` (a proxy's, when ANNALS_TRUST_PROXY trusts it). */
export const originOf = (request: FastifyRequest): string => `${request.protocol}://${request.host}`;

/** The problem with its `type` made absolute against `origin`. */
export function withTypeUri<P extends { type: string }>(p: P, origin: string): P {
  return p.type.startsWith('/') ? { ...p, type: `${origin}${p.type}` } : p;
}

/** Sends a problem, with the request's id in it (the same as the X-Request-Id header and the log lines). */
export function sendProblem(reply: FastifyReply, p: Problem, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(p.status).headers(headers).type('application/problem+json').send({ ...withTypeUri(p, originOf(reply.request)), requestId: reply.request.id });
}

/** Answers an error as a page instead of a problem when the request asks for one (web/index.ts); null: send the problem. */
export type HtmlError = (request: FastifyRequest, reply: FastifyReply, p: Problem, headers: Record<string, string>) => FastifyReply | null;

/**
 * Every error a problem; a path no route answers a 404, or a 405 with `Allow` when it exists
 * for other methods. A browser asking for a page's path gets the same status as an HTML page
 * (`html`), since the explorer's own errors are pages.
 */
export function registerErrorHandling(app: FastifyInstance, routes: { allowed(path: string): string[] } = { allowed: () => [] }, html?: HtmlError): void {
  app.setErrorHandler((err, request, reply) => {
    const { problem: p, headers } = toProblem(err, request);
    return sendProblem(reply, p, headers);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] as string;
    const allowed = routes.allowed(path);
    const [p, headers] =
      allowed.length > 0
        ? [problem('method-not-allowed', `${path} answers ${allowed.join(', ')}, not ${request.method}`, { allowed }), { allow: allowed.join(', ') }]
        : [problem('not-found', `no route ${request.method} ${path}`), {}];
    return html?.(request, reply, p, headers) ?? sendProblem(reply, p, headers);
  });
}
