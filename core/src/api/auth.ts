import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErpcError, isErpcError } from '../errors/index.js';
import type { ApiKeyCredential } from '../storage/repositories/api-key-repository.js';
import type { ApiKeyService } from '../auth/api-key-service.js';

/** Who is calling: the organisation every query of the request is scoped to. */
export interface RequestAuth {
  readonly orgId: string;
  readonly keyId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every /v1 route (on an `authInStatement` route, by the handler). */
    auth: RequestAuth | null;
    /** On an `authInStatement` route: the presented key, well-formed but not checked yet. */
    presentedKey: ApiKeyCredential | null;
  }
  interface FastifyContextConfig {
    /**
     * The route's own statement checks the API key (ADR 0044): the hook only checks its form, and
     * the handler passes {@link presentedKeyOf} to the statement and calls {@link authenticated}.
     * Any error answered before that is preceded by the full check, so a refused key is still a
     * 401 before any other answer.
     */
    authInStatement?: boolean;
  }
}

/** The caller's organisation; only valid on routes behind {@link installAuth}. */
export function orgOf(request: FastifyRequest): string {
  if (request.auth === null) throw new ErpcError('ERPC_ERR_AUTH_REQUIRED');
  return request.auth.orgId;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Requires `Authorization: Bearer <api key>` on every route of `scope`. Missing → 401
 * ERPC_ERR_AUTH_REQUIRED; malformed, unknown or revoked → 401 ERPC_ERR_AUTH_INVALID (one answer
 * for all three, so a caller learns nothing about which keys exist).
 */
export function installAuth(scope: FastifyInstance, apiKeys: ApiKeyService): void {
  scope.decorateRequest('presentedKey', null);
  // A callback hook: an `authInStatement` route (every accept) finishes it without a promise.
  scope.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') return done(new ErpcError('ERPC_ERR_AUTH_REQUIRED'));
    const match = BEARER.exec(header);
    if (match === null) return done(new ErpcError('ERPC_ERR_AUTH_INVALID'));
    if (request.routeOptions.config.authInStatement === true) {
      try {
        request.presentedKey = apiKeys.credentialOf(match[1]!); // the id and the secret's hash; the key itself is not kept
      } catch (err) {
        return done(err as Error);
      }
      return done();
    }
    apiKeys.authenticate(match[1]!).then(
      (auth) => {
        request.auth = auth;
        done();
      },
      (err: unknown) => done(err as Error),
    );
  });
  // An error on an `authInStatement` route before its statement checked the key (a body that
  // fails its schema, a document refused at the door): the key is checked first, as the hook
  // does on every other route, and a refused key answers 401 instead.
  scope.setErrorHandler(async (err, request) => {
    const presented = request.presentedKey;
    if (presented !== null && request.auth === null && !(isErpcError(err) && err.code === 'ERPC_ERR_AUTH_INVALID')) {
      request.auth = await apiKeys.authenticateCredential(presented);
    }
    throw err;
  });
}

/** The presented key of an `authInStatement` route, for its statement to check. */
export function presentedKeyOf(request: FastifyRequest): ApiKeyCredential {
  if (request.presentedKey === null) throw new ErpcError('ERPC_ERR_AUTH_REQUIRED');
  return request.presentedKey;
}

/** Records what the statement found the presented key to be. */
export function authenticated(request: FastifyRequest, auth: RequestAuth): void {
  request.auth = auth;
}
