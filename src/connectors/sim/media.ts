import { WasyncError } from '../../domain/errors.js';
import { hasDownloadableMedia } from '../baileys/media.js';
import type { ConnectorMedia } from '../types.js';

/**
 * The simulated phone's media: its messages carry well-formed media references (Baileys' shapes), but
 * they point to no file on any server, and its socket cannot ask for a re-upload.
 */
export const simMedia: ConnectorMedia = {
  unavailable: 'runs on the simulated phone, which holds no media files: its media references point to nothing',
  // The records are real Baileys shapes: a re-upload request gets as far as the socket, which says no.
  isDownloadable: hasDownloadableMedia,
  async open() {
    throw new WasyncError('MEDIA_UNAVAILABLE', 'the simulated phone holds no media files');
  },
  reuploader: () => null,
};
