import type { Firestore } from 'firebase-admin/firestore';
import { decodeSettingValue, type SettingEntry } from '../settings.js';
import { millisOf, toTimestamp } from './documents.js';
import { COLLECTIONS } from './paths.js';

/**
 * Settings on Firestore: `wasyncSettings/{key}` = `{ json, updatedAt }`. The value is kept as a JSON
 * string so it reads back exactly what was written (Firestore has no nested arrays and no int/float
 * distinction in a map).
 */
export class FirestoreSettings {
  constructor(private readonly db: Firestore) {}

  async get(key: string): Promise<SettingEntry | null> {
    const snap = await this.db.collection(COLLECTIONS.settings).doc(key).get();
    const json = snap.exists ? snap.get('json') : undefined;
    if (typeof json !== 'string') return null;
    return { key, value: decodeSettingValue(json), updatedAt: millisOf(snap.get('updatedAt')) ?? 0 };
  }

  async put(key: string, json: string, now: number): Promise<SettingEntry> {
    await this.db
      .collection(COLLECTIONS.settings)
      .doc(key)
      .set({ json, updatedAt: toTimestamp(now) });
    return { key, value: decodeSettingValue(json), updatedAt: now };
  }

  async delete(key: string): Promise<void> {
    await this.db.collection(COLLECTIONS.settings).doc(key).delete();
  }
}
