import { randomUUID } from 'node:crypto';
import { inject, injectable } from '../di.js';
import type { Clock } from '@erpc/sdk';
import { ErpcError } from '../errors/index.js';
import type { OrganizationStore } from './ports.js';
import { TOKENS } from '../tokens.js';
import { generateApiKey } from './api-key.js';

export interface OrganizationInfo {
  id: string;
  name: string;
  createdAt: string;
}

/** Organisations (tenants). Creating one also issues its first API key. */
@injectable()
export class OrganizationService {
  constructor(
    @inject(TOKENS.OrganizationStore) private readonly orgs: OrganizationStore,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  /** Creates an organisation and its first API key (returned once, never stored in clear). */
  async create(name: string): Promise<{ org: { id: string; name: string }; apiKey: string }> {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 200) throw new ErpcError('ERPC_ERR_USAGE', { reason: 'An organisation name is 1 to 200 characters.' });
    const id = randomUUID();
    const key = generateApiKey();
    // One transaction: a failure leaves neither an organisation without a key nor a key without one.
    await this.orgs.createWithApiKey({ id, name: trimmed, now: this.clock.now(), key: { id: key.id, secretHash: key.secretHash } });
    return { org: { id, name: trimmed }, apiKey: key.apiKey };
  }

  async list(): Promise<OrganizationInfo[]> {
    const rows = await this.orgs.list();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.createdAt).toISOString() }));
  }

  async count(): Promise<number> {
    return this.orgs.count();
  }
}
