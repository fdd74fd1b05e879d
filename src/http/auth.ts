/**
 * Authentication and roles for routes: `requireRole` (401 without a valid bearer token, 403
 * with a token of another role), `readAccess` (open, unless ANNALS_PRIVATE_READS: then any
 * valid token) and `principalOf` (the principal a hook authenticated). Tokens are never
 * logged: only the principal id (see src/auth/tokens.ts).
 */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { createAuthenticator, type Principal } from '../auth/tokens.js';
import type { Role } from '../config.js';
import type { Runtime } from '../runtime.js';
import { ProblemError } from './errors.js';

const principals = new WeakMap<FastifyRequest, Principal>();
const authenticators = new WeakMap<Runtime, (token: string) => Principal | null>();

const CHALLENGE = { 'www-authenticate': 'Bearer realm="annals"' };

function authenticatorOf(runtime: Runtime): (token: string) => Principal | null {
  let a = authenticators.get(runtime);
  if (!a) {
    a = createAuthenticator(runtime.tokens);
    authenticators.set(runtime, a);
  }
  return a;
}

function authenticate(runtime: Runtime, request: FastifyRequest): Principal {
  const header = request.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  if (!m) throw new ProblemError('unauthorized', 'send Authorization: Bearer <token>', {}, CHALLENGE);
  const principal = authenticatorOf(runtime)(m[1] as string);
  if (!principal) throw new ProblemError('unauthorized', 'the bearer token is not valid', {}, CHALLENGE);
  principals.set(request, principal);
  return principal;
}

export function requireRole(runtime: Runtime, ...roles: Role[]): preHandlerAsyncHookHandler {
  return async (request) => {
    const principal = authenticate(runtime, request);
    if (!roles.includes(principal.role)) {
      throw new ProblemError('forbidden', `this needs a ${roles.join(' or ')} token; yours is a ${principal.role} token`);
    }
  };
}

export function readAccess(runtime: Runtime): preHandlerAsyncHookHandler {
  return async (request) => {
    if (runtime.config.privateReads) authenticate(runtime, request);
  };
}

/** The principal a hook authenticated on this request, or undefined for an open read. */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return principals.get(request);
}
