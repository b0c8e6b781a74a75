import { WasyncError } from '../../domain/errors.js';
import type { MessageRecord } from '../../domain/records.js';
import { baileysMedia, hasDownloadableMedia } from '../baileys/media.js';
import type { ConnectorMedia } from '../types.js';
import { simMediaCdnBase } from './media-cdn.js';
import { simMediaFileAt } from './media-files.js';

/**
 * The simulated phone's media: its messages carry real media references (media-files.ts) whose files
 * its CDN serves on loopback (media-cdn.ts), so downloads take the real path: Baileys' HTTP stream and
 * media decryption, the route's ranges, the archive's verification. A reference the sim did not make
 * (a replayed recording's real WhatsApp media) is not on its CDN; and its socket cannot ask for a
 * re-upload, so such media is MEDIA_UNAVAILABLE.
 */
export const simMedia: ConnectorMedia = {
  unavailable: null,
  isDownloadable: hasDownloadableMedia,
  async open(record, opts) {
    const path = pathOf(record);
    if (path === null || simMediaFileAt(path) === null) {
      throw new WasyncError('MEDIA_UNAVAILABLE', `message ${record.id}: the simulated phone holds no such media file`);
    }
    // The stored reference with its host swapped for the sim's CDN; rebuilt from `media` (not the raw proto) to use that URL.
    const local: MessageRecord = {
      ...record,
      rawMessage: null,
      media: { ...record.media!, url: `${await simMediaCdnBase()}${path}`, directPath: null },
    };
    return baileysMedia.open(local, opts);
  },
  reuploader: () => null,
};

function pathOf(record: MessageRecord): string | null {
  if (record.media?.directPath) return record.media.directPath;
  if (!record.media?.url) return null;
  try {
    const url = new URL(record.media.url);
    return url.pathname + url.search;
  } catch {
    return null;
  }
}
