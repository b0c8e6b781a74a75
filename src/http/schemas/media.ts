import { Type } from '@sinclair/typebox';
import { errorResponse, type HeaderSpec, type RouteSchema, OWNED_ELSEWHERE_409 } from './common.js';
import { AccountId, MessageId } from './ids.js';

/** Media of stored messages (src/http/routes/media.ts). */

const headers: Readonly<Record<string, HeaderSpec>> = {
  'Content-Disposition': { description: 'The file’s name (`inline` for images, audio and video, else `attachment`).' },
  'Accept-Ranges': { description: '`bytes`' },
  'Content-Security-Policy': { description: '`sandbox`: the file never runs as a page of this origin.' },
  'X-Wasync-Media-Source': {
    description: 'Where the bytes come from: `archive` (the media archive) or `whatsapp` (the CDN, or the phone re-uploading).',
    schema: Type.String({ enum: ['archive', 'whatsapp'] }),
  },
};

const Bytes = Type.String({ contentMediaType: 'application/octet-stream', description: 'The file, with the message’s mimetype.' });

export const getMedia = {
  operationId: 'getMedia',
  tags: ['Media'],
  summary: 'Download a message’s media file',
  description:
    'From the media archive when it holds the file (`MEDIA_ARCHIVE`), else decrypted as it streams from WhatsApp’s CDN ' +
    '(media the CDN dropped is re-requested from the phone while the account is connected). ' +
    'Send `Range: bytes=a-b`, `a-` or `-n` for a part of it.',
  params: Type.Object({ accountId: AccountId, messageId: MessageId }),
  responses: {
    409: OWNED_ELSEWHERE_409,
    200: { description: 'The whole file.', contentType: '*/*', schema: Bytes, headers },
    206: {
      description: 'The requested range.',
      contentType: '*/*',
      schema: Bytes,
      headers: { ...headers, 'Content-Range': { description: '`bytes a-b/size`' } },
    },
    404: errorResponse(404, 'No such account or message, or no media to get (`MEDIA_UNAVAILABLE`).'),
    416: errorResponse(416, 'A malformed range, or one past the end of the file.'),
    502: errorResponse(502, 'WhatsApp’s media server failed.'),
  },
} as const satisfies RouteSchema;
