import Database from 'better-sqlite3';
import { StoreError, TransientStoreError, WasyncError } from '../../domain/errors.js';

/**
 * Translates whatever a store call threw into the port's error vocabulary. Errors we raise on
 * purpose (NotFound, Conflict, BadRequest from a cursor…) pass through untouched.
 *
 * SQLITE_BUSY / SQLITE_LOCKED (and their extended codes such as SQLITE_BUSY_SNAPSHOT) mean another
 * connection held the lock longer than busy_timeout: retrying later is the right response, so they
 * become TransientStoreError. Everything else (constraint violations, corruption, disk full…) will not
 * fix itself and becomes StoreError.
 */
export function toStoreError(err: unknown, operation: string): WasyncError {
  if (err instanceof WasyncError) return err;
  if (err instanceof Database.SqliteError) {
    if (isBusyCode(err.code)) {
      return new TransientStoreError(`sqlite ${operation}: database is busy (${err.code})`, { cause: err });
    }
    return new StoreError(`sqlite ${operation} failed (${err.code}): ${err.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StoreError(`sqlite ${operation} failed: ${message}`, { cause: err });
}

export function isBusyCode(code: string): boolean {
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

export function storeClosedError(): WasyncError {
  return new WasyncError('STORE_CLOSED', 'the sqlite store is closed');
}
