import type { DocumentReference, DocumentSnapshot, Firestore, Precondition, WriteBatch } from 'firebase-admin/firestore';
import { grpcCodeOf } from './errors.js';

/**
 * Optimistic compare-and-set: read a document (a plain read, no lock), decide from what it holds,
 * and commit the decided writes in one batch with the precondition that the document has not
 * changed since (its update time). A lost race (FAILED_PRECONDITION) is read and decided again.
 *
 * Leases and fences use this rather than transactions on purpose. A server-side transaction locks
 * what it reads until it commits, and a process killed in the middle of one leaves the lock behind:
 * on Google's emulator every write to that document then waits about a minute for the dead
 * transaction to time out (measured: 62 s for a plain update after `kill -9` of a client holding a
 * read lock). A fleet whose dead instance was renewing its leases as it died would wait that long to
 * take its accounts over. A precondition holds nothing between calls, so a dead writer blocks no one.
 */
export interface CasDecision<T> {
  result: T;
  /** The writes, each guarded by `guard` where the decision depends on the document; none: nothing to write. */
  writes?: (batch: WriteBatch, guard: Precondition) => void;
}

const GRPC_FAILED_PRECONDITION = 9;
const GRPC_ABORTED = 10;
const MAX_ATTEMPTS = 12;

export async function compareAndSet<T>(
  db: Firestore,
  ref: DocumentReference,
  decide: (snap: DocumentSnapshot) => CasDecision<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const snap = await ref.get();
    const decision = decide(snap);
    if (!decision.writes) return decision.result;
    const batch = db.batch();
    // A decision on a missing document is guarded by its staying missing.
    decision.writes(batch, snap.updateTime ? { lastUpdateTime: snap.updateTime } : { exists: false });
    try {
      await batch.commit();
      return decision.result;
    } catch (err) {
      const code = grpcCodeOf(err);
      if ((code !== GRPC_FAILED_PRECONDITION && code !== GRPC_ABORTED) || attempt >= MAX_ATTEMPTS) throw err;
      // Someone else wrote the document meanwhile: spread the retries of racing writers a little.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 10 * attempt)));
    }
  }
}
