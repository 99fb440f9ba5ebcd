import { inject, injectable } from '../di.js';
import type { Clock } from '@erpc/sdk';
import { ErpcError } from '../errors/index.js';
import type { ApiKeyStore, OrganizationStore } from './ports.js';
import { TOKENS } from '../tokens.js';
import { apiKeyHashMatches, generateApiKey, hashApiKeySecret, parseApiKey } from './api-key.js';
import type { ApiKeyCredential } from '../storage/repositories/api-key-repository.js';

/** An API key as listings show it: never the secret, never its hash. */
export interface ApiKeyInfo {
  id: string;
  orgId: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt?: string | null;
}

/** Issues, checks and revokes API keys (`erpc_<keyId>_<secret>`; only SHA-256 of the secret is stored). */
@injectable()
export class ApiKeyService {
  constructor(
    @inject(TOKENS.ApiKeyStore) private readonly keys: ApiKeyStore,
    @inject(TOKENS.OrganizationStore) private readonly orgs: OrganizationStore,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  /** Creates a key for an organisation. The returned `apiKey` is the only copy: show it once. */
  async create(orgId: string): Promise<{ id: string; apiKey: string }> {
    if ((await this.orgs.findById(orgId)) === undefined) throw new ErpcError('ERPC_ERR_ORG_NOT_FOUND', { id: orgId });
    const key = generateApiKey();
    await this.keys.create({ id: key.id, orgId, secretHash: key.secretHash, now: this.clock.now() });
    return { id: key.id, apiKey: key.apiKey };
  }

  /**
   * The organisation a presented key belongs to. Malformed, unknown, revoked and wrong-secret
   * keys all give the same 401, and a wrong secret is detected in constant time.
   */
  async authenticate(presented: string): Promise<{ orgId: string; keyId: string }> {
    return this.authenticateCredential(this.credentialOf(presented));
  }

  /** {@link authenticate} of a key already split and hashed ({@link credentialOf}). */
  async authenticateCredential(credential: ApiKeyCredential): Promise<{ orgId: string; keyId: string }> {
    const row = await this.keys.findById(credential.keyId);
    if (row === undefined || row.revokedAt !== null || !apiKeyHashMatches(credential.secretHash, row.secretHash)) {
      throw new ErpcError('ERPC_ERR_AUTH_INVALID');
    }
    return { orgId: row.orgId, keyId: row.id };
  }

  /**
   * A presented key's id and the SHA-256 of its secret, for a statement that checks the key
   * itself (ADR 0044). A malformed key is ERPC_ERR_AUTH_INVALID, as in {@link authenticate}.
   */
  credentialOf(presented: string): ApiKeyCredential {
    const parsed = parseApiKey(presented);
    if (parsed === undefined) throw new ErpcError('ERPC_ERR_AUTH_INVALID');
    return { keyId: parsed.id, secretHash: hashApiKeySecret(parsed.secret) };
  }

  /** Revokes a key: it stops working at once. Revoking twice is fine. */
  async revoke(keyId: string): Promise<void> {
    const found = await this.keys.revoke(keyId, this.clock.now());
    if (!found) throw new ErpcError('ERPC_ERR_API_KEY_NOT_FOUND', { id: keyId });
  }

  /** The keys of an organisation (ids and dates only). */
  async list(orgId: string): Promise<ApiKeyInfo[]> {
    if ((await this.orgs.findById(orgId)) === undefined) throw new ErpcError('ERPC_ERR_ORG_NOT_FOUND', { id: orgId });
    const rows = await this.keys.listByOrg(orgId);
    return rows.map((r) => ({
      id: r.id,
      orgId: r.orgId,
      createdAt: new Date(r.createdAt).toISOString(),
      revokedAt: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(),
    }));
  }
}
