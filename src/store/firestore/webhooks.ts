import type { DocumentData, Firestore } from 'firebase-admin/firestore';
import { ConflictError } from '../../domain/errors.js';
import {
  applyWebhookPatch,
  parseWebhook,
  webhookGuardHolds,
  type WebhookEndpoint,
  type WebhookPatch,
  type WebhookUpdateGuard,
} from '../webhooks.js';
import { GRPC_ALREADY_EXISTS, grpcCodeOf } from './errors.js';
import { COLLECTIONS } from './paths.js';

/**
 * Webhook endpoints on Firestore: `wasyncWebhooks/{id}`, server-only (firestore.rules). The per-account
 * cursor is a JSON string (account ids as map keys would be field paths); the rest are plain fields.
 * Read-check-write steps (guarded updates, leases) run in transactions, so two instances never both
 * take an endpoint. An endpoint is written about once a second while it delivers (the dispatcher
 * batches its cursor), within Firestore's sustained rate for one document.
 */
export class FirestoreWebhooks {
  constructor(private readonly db: Firestore) {}

  private ref(id: string) {
    return this.db.collection(COLLECTIONS.webhooks).doc(id);
  }

  async create(endpoint: WebhookEndpoint): Promise<WebhookEndpoint> {
    try {
      await this.ref(endpoint.id).create(toDoc(endpoint));
    } catch (err) {
      if (grpcCodeOf(err) === GRPC_ALREADY_EXISTS) throw new ConflictError(`webhook ${endpoint.id} already exists`);
      throw err;
    }
    return endpoint;
  }

  async find(id: string): Promise<WebhookEndpoint | null> {
    const snap = await this.ref(id).get();
    return snap.exists ? fromDoc(snap.data() ?? {}) : null;
  }

  async list(): Promise<WebhookEndpoint[]> {
    const snap = await this.db.collection(COLLECTIONS.webhooks).get();
    return snap.docs.map((d) => fromDoc(d.data())).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async delete(id: string): Promise<boolean> {
    const ref = this.ref(id);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists) return false;
      tx.delete(ref);
      return true;
    });
  }

  async update(id: string, patch: WebhookPatch, opts: WebhookUpdateGuard): Promise<WebhookEndpoint | null> {
    const ref = this.ref(id);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists) return null;
      const current = fromDoc(snap.data() ?? {});
      if (!webhookGuardHolds(current, opts)) return null;
      const next = applyWebhookPatch(current, patch, opts.now);
      tx.set(ref, toDoc(next));
      return next;
    });
  }

  async acquire(id: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const ref = this.ref(id);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists) return false;
      const current = fromDoc(snap.data() ?? {});
      const free =
        current.leaseHolder === null || current.leaseUntil === null || current.leaseUntil <= now || current.leaseHolder === holder;
      if (!free) return false;
      tx.update(ref, { leaseHolder: holder, leaseUntil: now + ttlMs });
      return true;
    });
  }

  async release(id: string, holder: string): Promise<void> {
    const ref = this.ref(id);
    await this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists || snap.get('leaseHolder') !== holder) return;
      tx.update(ref, { leaseHolder: null, leaseUntil: null });
    });
  }
}

function toDoc(e: WebhookEndpoint): DocumentData {
  return { ...e, cursor: JSON.stringify(e.cursor) };
}

function fromDoc(d: DocumentData): WebhookEndpoint {
  const cursor = typeof d.cursor === 'string' ? (JSON.parse(d.cursor) as Record<string, number>) : {};
  return parseWebhook({ ...d, cursor } as Record<string, unknown>);
}
