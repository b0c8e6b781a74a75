import type Database from 'better-sqlite3';
import { ConflictError } from '../../domain/errors.js';
import {
  applyWebhookPatch,
  parseWebhook,
  webhookGuardHolds,
  type WebhookEndpoint,
  type WebhookPatch,
  type WebhookUpdateGuard,
} from '../webhooks.js';

/**
 * Webhook endpoints on SQLite (table `webhooks`, migration 3): one JSON document per endpoint, like
 * accounts, so new fields need no migration. Every method runs inside the store's transaction.
 */
export class SqliteWebhooks {
  private readonly insert: Database.Statement<[string, string]>;
  private readonly get: Database.Statement<[string], string>;
  private readonly all: Database.Statement<[], string>;
  private readonly put: Database.Statement<[string, string]>;
  private readonly del: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT INTO webhooks (id, data) VALUES (?, ?) ON CONFLICT (id) DO NOTHING');
    this.get = db.prepare<[string], string>('SELECT data FROM webhooks WHERE id = ?').pluck();
    this.all = db.prepare<[], string>(`SELECT data FROM webhooks ORDER BY json_extract(data, '$.createdAt'), id`).pluck();
    this.put = db.prepare('UPDATE webhooks SET data = ? WHERE id = ?');
    this.del = db.prepare('DELETE FROM webhooks WHERE id = ?');
  }

  create(endpoint: WebhookEndpoint): WebhookEndpoint {
    if (this.insert.run(endpoint.id, JSON.stringify(endpoint)).changes === 0)
      throw new ConflictError(`webhook ${endpoint.id} already exists`);
    return endpoint;
  }

  find(id: string): WebhookEndpoint | null {
    const data = this.get.get(id);
    return data === undefined ? null : parseWebhook(data);
  }

  list(): WebhookEndpoint[] {
    return this.all.all().map(parseWebhook);
  }

  delete(id: string): boolean {
    return this.del.run(id).changes > 0;
  }

  update(id: string, patch: WebhookPatch, opts: WebhookUpdateGuard): WebhookEndpoint | null {
    const current = this.find(id);
    if (!current) return null;
    if (!webhookGuardHolds(current, opts)) return null;
    const next = applyWebhookPatch(current, patch, opts.now);
    this.put.run(JSON.stringify(next), id);
    return next;
  }

  acquire(id: string, holder: string, ttlMs: number, now: number): boolean {
    const current = this.find(id);
    if (!current) return false;
    const free = current.leaseHolder === null || current.leaseUntil === null || current.leaseUntil <= now || current.leaseHolder === holder;
    if (!free) return false;
    this.put.run(JSON.stringify({ ...current, leaseHolder: holder, leaseUntil: now + ttlMs }), id);
    return true;
  }

  release(id: string, holder: string): void {
    const current = this.find(id);
    if (!current || current.leaseHolder !== holder) return;
    this.put.run(JSON.stringify({ ...current, leaseHolder: null, leaseUntil: null }), id);
  }
}
