import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErpcError } from '../errors/index.js';
import type { ApiKeyService } from '../auth/api-key-service.js';

/** Who is calling: the organisation every query of the request is scoped to. */
export interface RequestAuth {
  readonly orgId: string;
  readonly keyId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every /v1 route. */
    auth: RequestAuth | null;
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
  scope.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') throw new ErpcError('ERPC_ERR_AUTH_REQUIRED');
    const match = BEARER.exec(header);
    if (match === null) throw new ErpcError('ERPC_ERR_AUTH_INVALID');
    request.auth = await apiKeys.authenticate(match[1]!);
  });
}
