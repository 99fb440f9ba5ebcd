import type { Knex } from 'knex';
import { ApiKeyRepository } from './api-key-repository.js';
import { ConnectionRepository } from './connection-repository.js';
import { OrganizationRepository } from './organization-repository.js';
import { PushRepository } from './push-repository.js';
import { retryingTransaction } from '../errors.js';
import { WebhookRepository, WebhookSecretKeyStore } from './webhook-repository.js';
import { WorkerRepository } from './worker-repository.js';

/**
 * Every repository, bound to one database handle: the database itself, or, inside
 * {@link Repositories.transaction}, the open transaction (so all of them run in it). The root
 * binds each service's port to one of these members.
 */
export class Repositories {
  readonly organizations: OrganizationRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly connections: ConnectionRepository;
  readonly pushes: PushRepository;
  readonly workers: WorkerRepository;
  readonly webhooks: WebhookRepository;
  /** The webhook signing secrets as key rotation walks them. */
  readonly webhookSecrets: WebhookSecretKeyStore;

  constructor(private readonly db: Knex) {
    this.organizations = new OrganizationRepository(db);
    this.apiKeys = new ApiKeyRepository(db);
    this.connections = new ConnectionRepository(db);
    this.pushes = new PushRepository(db);
    this.workers = new WorkerRepository(db);
    this.webhooks = new WebhookRepository(db);
    this.webhookSecrets = new WebhookSecretKeyStore(db);
  }

  /** Runs `fn` in one transaction, with every repository bound to it. */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T> {
    return retryingTransaction(this.db, (trx) => fn(new Repositories(trx)));
  }

  /** One round trip, for health checks. */
  async ping(): Promise<void> {
    await this.db.raw('select 1');
  }
}
