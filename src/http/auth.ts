/**
 * Authentication and roles for routes: `requireRole` (401 without a valid bearer token, 403
 * with a token of another role) and `readAccess` (open, unless ANNALS_PRIVATE_READS: then any
 * valid token), both reading the request's credential (`request.credential`, decorated by the
 * app plugin, parts.ts, from `credentialOf`). Tokens are never logged: only the principal id
 * (see src/auth/tokens.ts).
 *
 * Credentials come before everything else a request is judged on: whatever hook a route
 * names these checks in, `hoistAuthentication` (an onRoute hook of app.ts) moves them to
 * onRequest, so an anonymous caller learns 401 before its query or body is read or
 * validated. `credentialOf` looks at the Authorization header once per request, for those
 * checks and for the per-client limits and shedding that run before them (shedding.ts).
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler, preHandlerAsyncHookHandler, preHandlerHookHandler, RouteOptions } from 'fastify';
import { createAuthenticator, type Principal } from '../auth/tokens.js';
import type { Role, TokenGrant } from '../config.js';
import { ProblemError } from './errors.js';

/** What a request's Authorization header amounts to. */
export type Credential = { kind: 'none' } | { kind: 'invalid'; malformed: boolean } | { kind: 'valid'; principal: Principal };

/**
 * Where a request keeps its credential once checked: a member every request is made with
 * (decorated null by the app plugin, parts.ts), not a WeakMap entry a request (an ephemeron
 * to set, look up and collect on every write).
 */
export const CREDENTIAL_SLOT = 'annalsCredential';
type Slotted = { [CREDENTIAL_SLOT]?: Credential | null };
/** Whoever holds the credentials a request is checked against (the runtime). */
export interface TokenHolder {
  readonly tokens: readonly TokenGrant[];
}
const authenticators = new WeakMap<TokenHolder, (token: string) => Principal | null>();
const AUTH_HOOK = Symbol('annals.authentication');

const CHALLENGE = { 'www-authenticate': 'Bearer realm="annals"' };

function authenticatorOf(holder: TokenHolder): (token: string) => Principal | null {
  let a = authenticators.get(holder);
  if (!a) {
    a = createAuthenticator(holder.tokens);
    authenticators.set(holder, a);
  }
  return a;
}

/** The request's credential, checked once (a constant-time compare per grant: createAuthenticator). */
export function credentialOf(holder: TokenHolder, request: FastifyRequest): Credential {
  let c = (request as unknown as Slotted)[CREDENTIAL_SLOT];
  if (c) return c;
  const header = request.headers.authorization;
  if (header === undefined) c = { kind: 'none' };
  else {
    const m = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
    const principal = m ? authenticatorOf(holder)(m[1] as string) : null;
    c = principal ? { kind: 'valid', principal } : { kind: 'invalid', malformed: m === null };
  }
  (request as unknown as Slotted)[CREDENTIAL_SLOT] = c;
  return c;
}

function authenticate(request: FastifyRequest): Principal {
  const c = request.credential;
  if (c.kind === 'valid') return c.principal;
  if (c.kind === 'none' || c.malformed) throw new ProblemError('unauthorized', 'send Authorization: Bearer <token>', {}, CHALLENGE);
  throw new ProblemError('unauthorized', 'the bearer token is not valid', {}, CHALLENGE);
}

const tagged = <T extends object>(hook: T): T => Object.assign(hook, { [AUTH_HOOK]: true });

/** A callback hook, not an async one: every write passes it, and a promise a request is not free. */
export function requireRole(...roles: Role[]): preHandlerHookHandler {
  return tagged((request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    let principal: Principal;
    try {
      principal = authenticate(request);
    } catch (err) {
      return done(err as Error);
    }
    if (!roles.includes(principal.role)) {
      return done(new ProblemError('forbidden', `this needs a ${roles.join(' or ')} token; yours is a ${principal.role} token`));
    }
    done();
  });
}

export function readAccess(): preHandlerAsyncHookHandler {
  return tagged(async (request: FastifyRequest) => {
    if (request.server.config.privateReads) authenticate(request);
  });
}

const isAuthHook = (h: unknown): boolean => typeof h === 'function' && (h as unknown as Record<symbol, unknown>)[AUTH_HOOK] === true;
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** onRoute: moves this file's checks from any later hook of the route to the start of its onRequest hooks. */
export function hoistAuthentication(route: RouteOptions): void {
  const hoisted: unknown[] = [];
  for (const name of ['preParsing', 'preValidation', 'preHandler'] as const) {
    const hooks = list(route[name] as unknown);
    if (!hooks.some(isAuthHook)) continue;
    hoisted.push(...hooks.filter(isAuthHook));
    (route as unknown as Record<string, unknown>)[name] = hooks.filter((h) => !isAuthHook(h));
  }
  if (hoisted.length > 0) route.onRequest = [...(hoisted as onRequestHookHandler[]), ...list(route.onRequest)];
}
