import type { Connector, WaSocket } from '../connectors/types.js';
import { NotFoundError, WasyncError } from '../domain/errors.js';
import type { ConnectionStatus, MediaRef } from '../domain/records.js';
import type { Store } from '../store/port.js';

/**
 * Baileys' `updateMediaMessage` waits for the phone's answer without a deadline (it gives up only when
 * the connection closes): an HTTP download waiting on it must not hang for that long.
 */
export const MEDIA_REUPLOAD_TIMEOUT_MS = 30_000;

export interface MediaReuploadDeps {
  accountId: string;
  store: Store;
  connector: Connector;
  /** The live socket, or `NOT_CONNECTED`. */
  socket: () => WaSocket;
  connection: () => ConnectionStatus;
  timeoutMs: number;
}

/**
 * The actor's one media step: asks the phone to re-upload a stored message's media that WhatsApp's CDN
 * dropped, and answers with the new reference as plain data for the download running on the HTTP side.
 * Nothing is stored: Baileys announces the new reference as a `messages.update`, which ingest skips.
 */
export async function requestMediaReupload(d: MediaReuploadDeps, messageId: string): Promise<MediaRef> {
  const record = await d.store.getMessage(d.accountId, messageId);
  if (!record) throw new NotFoundError(`message ${messageId} not found`);
  const { media, kind } = d.connector;
  if (!media.isDownloadable(record)) throw new WasyncError('MEDIA_UNAVAILABLE', `message ${messageId} has no downloadable media`);
  const reupload = media.reuploader(d.socket());
  if (!reupload) throw new WasyncError('MEDIA_UNAVAILABLE', `the ${kind} connector cannot ask a phone to re-upload media`);
  const notConnected = (): WasyncError => new WasyncError('NOT_CONNECTED', `account is ${d.connection()}, not connected`);
  if (d.connection() !== 'open') throw notConnected();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WasyncError('ACTOR_TIMEOUT', `the phone did not answer the media re-upload request within ${d.timeoutMs} ms`)),
      d.timeoutMs,
    );
  });
  try {
    return await Promise.race([reupload(record), deadline]);
  } catch (err) {
    if (err instanceof WasyncError) throw err;
    if (d.connection() !== 'open') {
      const message = err instanceof Error ? err.message : String(err);
      throw new WasyncError('NOT_CONNECTED', `the connection closed during the media re-upload request: ${message}`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
