import type { DocumentData, Firestore } from 'firebase-admin/firestore';
import { normalizeInstanceRecord, type InstanceRecord } from '../instances.js';
import { millisOf, toTimestamp } from './documents.js';
import { COLLECTIONS } from './paths.js';

/**
 * The instance registry on Firestore: `wasyncInstances/{instanceId}`, server-only (firestore.rules).
 * Instants are Timestamps like every other instant the store writes. A fleet has a handful of
 * instances: listing reads them all, no query, no index.
 */
export class FirestoreInstances {
  constructor(private readonly db: Firestore) {}

  async put(r: InstanceRecord): Promise<void> {
    await this.db
      .collection(COLLECTIONS.instances)
      .doc(r.instanceId)
      .set({ ...normalizeInstanceRecord(r), startedAt: toTimestamp(r.startedAt), heartbeatAt: toTimestamp(r.heartbeatAt) });
  }

  async list(): Promise<InstanceRecord[]> {
    const snap = await this.db.collection(COLLECTIONS.instances).get();
    return snap.docs
      .map((d) => fromDoc(d.id, d.data()))
      .sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
  }

  async delete(instanceId: string): Promise<void> {
    await this.db.collection(COLLECTIONS.instances).doc(instanceId).delete();
  }
}

function fromDoc(id: string, d: DocumentData): InstanceRecord {
  return normalizeInstanceRecord({
    instanceId: id,
    url: typeof d.url === 'string' ? d.url : null,
    mode: d.mode,
    state: d.state,
    startedAt: millisOf(d.startedAt) ?? 0,
    heartbeatAt: millisOf(d.heartbeatAt) ?? 0,
    accounts: Array.isArray(d.accounts) ? d.accounts.filter((a: unknown): a is string => typeof a === 'string') : [],
    maxAccounts: typeof d.maxAccounts === 'number' ? d.maxAccounts : 0,
  });
}
