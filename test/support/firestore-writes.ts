import type { DocumentReference, Firestore, WriteBatch } from 'firebase-admin/firestore';

export type WriteKind = 'set' | 'create' | 'update' | 'delete';

export interface WriteRecorder {
  /** Every write of every committed batch, in commit order, paths relative to the database root. */
  readonly writes: ReadonlyArray<{ kind: WriteKind; path: string }>;
  clear(): void;
  /** Puts the client's own `batch()` back. */
  stop(): void;
}

/**
 * Records the writes a Firestore client commits through `batch()` (which is how the store writes
 * everything but leases and single-document updates), batch by batch, once the commit succeeded.
 * How tests count writes per document and see their order; what the emulator then holds is checked
 * separately (document update times, listing).
 */
export function recordBatchWrites(db: Firestore): WriteRecorder {
  const writes: Array<{ kind: WriteKind; path: string }> = [];
  const original = db.batch;
  db.batch = function recordingBatch(this: Firestore): WriteBatch {
    const batch = original.call(this);
    const pending: Array<{ kind: WriteKind; path: string }> = [];
    for (const kind of ['set', 'create', 'update', 'delete'] as const) {
      const method = batch[kind] as (...args: unknown[]) => WriteBatch;
      (batch as unknown as Record<WriteKind, (...args: unknown[]) => WriteBatch>)[kind] = (...args: unknown[]) => {
        pending.push({ kind, path: (args[0] as DocumentReference).path });
        return method.apply(batch, args);
      };
    }
    const commit = batch.commit.bind(batch);
    batch.commit = async () => {
      const result = await commit();
      writes.push(...pending);
      return result;
    };
    return batch;
  };
  return {
    writes,
    clear: () => {
      writes.length = 0;
    },
    stop: () => {
      db.batch = original;
    },
  };
}

/** Each document's update time on the server (absent documents: null): what changes on any write. */
export async function updateTimes(db: Firestore, paths: readonly string[]): Promise<Map<string, string | null>> {
  const snaps = paths.length === 0 ? [] : await db.getAll(...paths.map((p) => db.doc(p)));
  return new Map(
    snaps.map((s) => [s.ref.path, s.updateTime ? `${s.updateTime.seconds}.${String(s.updateTime.nanoseconds).padStart(9, '0')}` : null]),
  );
}
