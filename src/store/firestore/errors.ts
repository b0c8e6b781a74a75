import { StoreError, TransientStoreError, WasyncError } from '../../domain/errors.js';

/**
 * gRPC status codes worth retrying: DEADLINE_EXCEEDED (4), RESOURCE_EXHAUSTED (8, quota or the
 * 500/50/5 ramp), ABORTED (10, contention) and UNAVAILABLE (14), which Google documents as transient
 * for Firestore; plus CANCELLED (1) and INTERNAL (13), which the Firestore client itself retries in
 * transactions and which a dropped connection produces. Every write the store sends is idempotent
 * (sets and deletes of whole known states), so a retry after an ambiguous failure is safe.
 */
export const TRANSIENT_GRPC_CODES: ReadonlyMap<number, string> = new Map([
  [1, 'CANCELLED'],
  [4, 'DEADLINE_EXCEEDED'],
  [8, 'RESOURCE_EXHAUSTED'],
  [10, 'ABORTED'],
  [13, 'INTERNAL'],
  [14, 'UNAVAILABLE'],
]);

export const GRPC_DEADLINE_EXCEEDED = 4;

export const GRPC_ALREADY_EXISTS = 6;
export const GRPC_NOT_FOUND = 5;
export const GRPC_RESOURCE_EXHAUSTED = 8;

/** The gRPC status of an error from firebase-admin (numeric `code`; some paths use the name). */
export function grpcCodeOf(err: unknown): number | null {
  if (err === null || typeof err !== 'object' || !('code' in err)) return null;
  const code = (err as { code: unknown }).code;
  if (typeof code === 'number') return code;
  if (typeof code === 'string') {
    const upper = code.toUpperCase().replace(/-/g, '_');
    for (const [n, name] of TRANSIENT_GRPC_CODES) if (name === upper) return n;
    if (upper === 'NOT_FOUND') return GRPC_NOT_FOUND;
    if (upper === 'ALREADY_EXISTS') return GRPC_ALREADY_EXISTS;
  }
  return null;
}

export function isTransientFirestoreError(err: unknown): boolean {
  const code = grpcCodeOf(err);
  return code !== null && TRANSIENT_GRPC_CODES.has(code);
}

/**
 * Translates whatever a Firestore call threw into the port's vocabulary. Our own errors (NotFound,
 * Conflict, BadRequest…) pass through; retryable gRPC codes become TransientStoreError so the
 * caller's batch writer retries too; everything else is a StoreError.
 */
export function toStoreError(err: unknown, operation: string): WasyncError {
  if (err instanceof WasyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = grpcCodeOf(err);
  if (code !== null && TRANSIENT_GRPC_CODES.has(code)) {
    return new TransientStoreError(`firestore ${operation}: ${TRANSIENT_GRPC_CODES.get(code)} (${firstLine(message)})`, { cause: err });
  }
  return new StoreError(`firestore ${operation} failed${code === null ? '' : ` (gRPC ${code})`}: ${firstLine(message)}`, { cause: err });
}

export function storeClosedError(): WasyncError {
  return new WasyncError('STORE_CLOSED', 'the firestore store is closed');
}

/** Long enough to keep the index-creation link of a FAILED_PRECONDITION, short enough for a log line. */
function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 1000 ? `${line.slice(0, 1000)}…` : line;
}
