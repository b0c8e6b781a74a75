import { RangeNotSatisfiableError } from '../../domain/errors.js';
import type { MediaStream } from '../../supervisor/service.js';
import { contentDisposition, mediaContentType, parseRangeHeader } from '../media-headers.js';
import { errorReply, type Reply } from '../respond.js';
import { route, type Route } from '../router.js';
import { getMedia } from '../schemas/media.js';

/**
 * Media of stored messages: from the media archive when it holds the file, else decrypted as it streams
 * from WhatsApp's CDN (the accounts service does either; the Responder writes the stream with
 * backpressure). 200 for the whole file, 206 for a range, 416 for a range it cannot serve.
 */
export const mediaRoutes: readonly Route[] = [
  route(
    'get',
    '/api/whatsapp/media/:accountId/:messageId',
    { scope: 'read', account: 'param', schema: getMedia },
    async ({ deps, params, headers }) => {
      // `headers` was copied from the uWS request before the route ran (it is invalid after an await);
      // a malformed range is refused here, before the store or the CDN is asked anything.
      const range = parseRangeHeader(headers.range);
      let media: MediaStream;
      try {
        media = await deps.accounts.openMedia(params.accountId, params.messageId, range);
      } catch (err) {
        if (err instanceof RangeNotSatisfiableError && err.size !== null) {
          return errorReply(416, 'RANGE_NOT_SATISFIABLE', err.message, { 'content-range': `bytes */${err.size}` });
        }
        throw err;
      }
      return mediaReply(media, params.messageId);
    },
  ),
];

function mediaReply(media: MediaStream, messageId: string): Reply {
  const headers: Record<string, string> = {
    'content-disposition': contentDisposition(media.fileName, messageId, media.mimetype),
    'accept-ranges': 'bytes',
    // The file is whatever a chat peer sent: a browser that opens it must not run it as a page of
    // this origin (an HTML or SVG "image").
    'content-security-policy': 'sandbox',
    // Where the bytes come from: `archive` (the media archive) or `whatsapp` (the CDN, or the phone re-uploading).
    'x-wasync-media-source': media.source,
  };
  if (media.range) headers['content-range'] = `bytes ${media.range.start}-${media.range.end}/${media.size ?? '*'}`;
  return { status: media.range ? 206 : 200, stream: media.stream, contentType: mediaContentType(media.mimetype), headers };
}
