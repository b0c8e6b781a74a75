import { createHash } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { generateHistory } from '../../src/connectors/sim/history-generator.js';
import { simMedia } from '../../src/connectors/sim/media.js';
import { simMediaCdnBase } from '../../src/connectors/sim/media-cdn.js';
import { SIM_MEDIA_FILES, simMediaFile, simMediaFileAt } from '../../src/connectors/sim/media-files.js';
import { mapHistorySet, mapResolver } from '../../src/ingest/index.js';
import { MEDIA_MESSAGE_TYPES, type MessageRecord } from '../../src/domain/records.js';

const logger = pino({ level: 'silent' });
const noReupload = async (): Promise<never> => {
  throw new Error('the sim cannot re-upload');
};

async function bytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** Media messages of a generated history, as ingest stores them. */
function storedMedia(): MessageRecord[] {
  const { chunks } = generateHistory({ chats: 12, messagesPerChat: 25, seed: 'sim-media', now: Date.UTC(2025, 0, 15) });
  const lidToPn = new Map<string, string>();
  return chunks.flatMap((chunk) =>
    mapHistorySet(chunk, { accountId: 'acc', now: Date.now(), source: 'history_sync', resolver: mapResolver(lidToPn) }).mutations.flatMap(
      (m) => (m.kind === 'message' && MEDIA_MESSAGE_TYPES.has(m.record.messageType) ? [m.record] : []),
    ),
  );
}

describe('simulated phone media: real files on a loopback CDN', () => {
  it('files are what their references say: WhatsApp-encrypted, hashes and lengths true; images are PNGs', () => {
    const image = simMediaFile('image', 3);
    expect(image.plain.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(image.plain.readUInt32BE(16)).toBe(image.width);
    for (const kind of ['image', 'video', 'audio', 'document', 'sticker'] as const) {
      const f = simMediaFile(kind, SIM_MEDIA_FILES + 5);
      expect(f.index).toBe(5);
      expect(f.fileSha256).toEqual(createHash('sha256').update(f.plain).digest());
      expect(f.fileEncSha256).toEqual(createHash('sha256').update(f.encrypted).digest());
      expect(f.fileLength).toBe(f.plain.length);
      // AES-CBC with PKCS#7 padding, then the 10-byte MAC.
      expect(f.encrypted.length).toBe((Math.floor(f.plain.length / 16) + 1) * 16 + 10);
    }
    expect(simMediaFileAt('/v/t62.7118-24/00000003_1234567890123456_1234567890123456_n.enc?ccb=11-4')).toBe(image);
    expect(simMediaFileAt('/v/t62.7118-24/00000099_1234567890123456_1234567890123456_n.enc')).toBeNull();
    expect(simMediaFileAt('/f/img')).toBeNull();
  });

  it("every generated media message downloads through Baileys' decryption to the bytes its fileSha256 names, ranges too", async () => {
    const records = storedMedia();
    expect(new Set(records.map((r) => r.messageType))).toEqual(new Set(['image', 'video', 'audio', 'document', 'sticker']));
    for (const record of records.slice(0, 40)) {
      const stream = await simMedia.open(record, { range: null, logger, reupload: noReupload });
      const got = await bytes(stream);
      expect(createHash('sha256').update(got).digest('base64')).toBe(record.media!.fileSha256);
      expect(got.length).toBe(record.media!.fileLength);
    }
    const image = records.find((r) => r.messageType === 'image')!;
    expect(image.mediaMimetype).toBe('image/png');
    const whole = await bytes(await simMedia.open(image, { range: null, logger, reupload: noReupload }));
    const part = await bytes(await simMedia.open(image, { range: { start: 100, end: 1099 }, logger, reupload: noReupload }));
    expect(part).toEqual(whole.subarray(100, 1100));
  });

  it('the CDN answers 404 for anything it does not hold, and a reference the sim did not make is MEDIA_UNAVAILABLE', async () => {
    const base = await simMediaCdnBase();
    expect((await fetch(`${base}/v/t62.7118-24/nope.enc`)).status).toBe(404);
    expect(await text((await fetch(`${base}/v/t62.7118-24/00000001_1234567890123456_1234567890123456_n.enc`)).body!)).not.toBe('');
    const [record] = storedMedia();
    const foreign = { ...record!, media: { ...record!.media!, directPath: '/v/t62.7118-24/real_whatsapp_file.enc', url: null } };
    await expect(simMedia.open(foreign, { range: null, logger, reupload: noReupload })).rejects.toMatchObject({
      code: 'MEDIA_UNAVAILABLE',
    });
  });
});
