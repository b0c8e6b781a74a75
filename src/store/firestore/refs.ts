import type { CollectionReference, DocumentReference, DocumentSnapshot, Firestore } from 'firebase-admin/firestore';
import { COLLECTIONS, authKeyDocId, messageIndexId } from './paths.js';

/** Every document and collection the store touches, in one place, so paths cannot drift apart. */
export class Refs {
  constructor(readonly db: Firestore) {}

  accounts(): CollectionReference {
    return this.db.collection(COLLECTIONS.accounts);
  }
  account(accountId: string): DocumentReference {
    return this.accounts().doc(accountId);
  }

  threads(): CollectionReference {
    return this.db.collection(COLLECTIONS.threads);
  }
  thread(threadId: string): DocumentReference {
    return this.threads().doc(threadId);
  }
  messages(threadId: string): CollectionReference {
    return this.thread(threadId).collection(COLLECTIONS.messages);
  }
  message(threadId: string, messageId: string): DocumentReference {
    return this.messages(threadId).doc(messageId);
  }

  inboundDedupe(accountId: string, messageId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.inboundDedupe).doc(messageIndexId(accountId, messageId));
  }
  outboundIndex(accountId: string, messageId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.outboundIndex).doc(messageIndexId(accountId, messageId));
  }

  private privateRoot(accountId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.private).doc(accountId);
  }
  lidMappings(accountId: string): CollectionReference {
    return this.privateRoot(accountId).collection(COLLECTIONS.lidMappings);
  }
  lidMapping(accountId: string, lid: string): DocumentReference {
    return this.lidMappings(accountId).doc(lid);
  }
  pendingReceipts(accountId: string): CollectionReference {
    return this.privateRoot(accountId).collection(COLLECTIONS.pendingReceipts);
  }
  pendingReceipt(accountId: string, messageId: string): DocumentReference {
    return this.pendingReceipts(accountId).doc(messageId);
  }

  authCreds(accountId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.auth).doc(accountId);
  }
  authKeys(accountId: string): CollectionReference {
    return this.authCreds(accountId).collection(COLLECTIONS.authKeys);
  }
  authKey(accountId: string, type: string, id: string): DocumentReference {
    return this.authKeys(accountId).doc(authKeyDocId(type, id));
  }

  fence(accountId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.fences).doc(accountId);
  }

  healthProbe(): DocumentReference {
    return this.db.collection(COLLECTIONS.healthProbe).doc('probe');
  }
}

const GET_ALL_CHUNK = 300;

/**
 * Reads many documents in as few round trips as possible: one `getAll` per chunk, chunks in
 * parallel. Duplicate references are read once. The result is keyed by document path.
 */
export async function getAllByPath(db: Firestore, refs: readonly DocumentReference[]): Promise<Map<string, DocumentSnapshot>> {
  const unique = new Map<string, DocumentReference>();
  for (const ref of refs) unique.set(ref.path, ref);
  const list = [...unique.values()];
  const out = new Map<string, DocumentSnapshot>();
  if (list.length === 0) return out;
  const chunks: DocumentReference[][] = [];
  for (let i = 0; i < list.length; i += GET_ALL_CHUNK) chunks.push(list.slice(i, i + GET_ALL_CHUNK));
  const results = await Promise.all(chunks.map((chunk) => db.getAll(...chunk)));
  for (const snaps of results) for (const snap of snaps) out.set(snap.ref.path, snap);
  return out;
}
