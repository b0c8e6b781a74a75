import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { hkdf, hkdfInfoKey } from '@whiskeysockets/baileys';

/**
 * The simulated phone's media files: real bytes, encrypted exactly as WhatsApp encrypts media
 * (HKDF-expanded media key → AES-256-CBC, then the first 10 bytes of an HMAC-SHA256: what Baileys'
 * `encryptedStream` produces and its `getMediaKeys` decrypts), so that a message's `fileSha256`,
 * `fileEncSha256`, `fileLength` and `mediaKey` are all true and the real download path (the media
 * route, the media archive) works against the sim's CDN (sim/media-cdn.ts).
 *
 * A world draws from a pool of files per kind rather than making one per message: 100,000 generated
 * messages cost no encryption, and repeated files are what forwards look like (the archive keeps one
 * copy). Images are small PNGs a browser shows; the other kinds are deterministic bytes of their size.
 * A file's `directPath` names its pool slot, so the CDN can rebuild any file from the path alone.
 */

export type SimMediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

/** Distinct files per kind. */
export const SIM_MEDIA_FILES = 64;

/** WhatsApp's media path prefixes per kind (the `t62.*` part of a real directPath). */
const PATH_PREFIX: Record<SimMediaKind, string> = {
  image: 't62.7118-24',
  video: 't62.7161-24',
  audio: 't62.7114-24',
  document: 't62.7119-24',
  sticker: 't62.15575-24',
};
const KIND_OF_PREFIX = new Map(Object.entries(PATH_PREFIX).map(([kind, prefix]) => [prefix, kind as SimMediaKind]));

export interface SimMediaFile {
  kind: SimMediaKind;
  index: number;
  plain: Buffer;
  /** What the CDN serves: ciphertext and the 10-byte MAC. */
  encrypted: Buffer;
  mediaKey: Buffer;
  fileSha256: Buffer;
  fileEncSha256: Buffer;
  fileLength: number;
  /** Images: the PNG's size in pixels. */
  width: number | null;
  height: number | null;
}

/** What a message needs of a file (its key, hashes, size): everything but the bytes. */
export type SimMediaMeta = Omit<SimMediaFile, 'plain' | 'encrypted'>;

/**
 * Every account's worker runs its own simulated phone, so what it keeps is multiplied by the accounts.
 * The metadata of every file of the pool (a few hundred bytes each) is kept: messages are generated
 * from it. The bytes (plain and encrypted copies, up to 64 KB a file) are kept for the 16 files used
 * last: a download rebuilds an evicted file in well under a millisecond. Kept whole, the pool grew to
 * several MiB per account over a long run.
 */
const CACHED_FILES = 16;
const recent = new Map<string, SimMediaFile>();
const metas = new Map<string, SimMediaMeta>();

function keyOf(kind: SimMediaKind, index: number): { key: string; i: number } {
  const i = ((Math.trunc(index) % SIM_MEDIA_FILES) + SIM_MEDIA_FILES) % SIM_MEDIA_FILES;
  return { key: `${kind}:${i}`, i };
}

/** Slot `index` (any integer: taken modulo the pool) of a kind; deterministic, so rebuilding gives the same file. */
export function simMediaFile(kind: SimMediaKind, index: number): SimMediaFile {
  const { key, i } = keyOf(kind, index);
  let file = recent.get(key);
  if (file) {
    recent.delete(key);
  } else {
    file = buildFile(kind, i);
    if (recent.size >= CACHED_FILES) recent.delete(recent.keys().next().value!);
    const { plain: _plain, encrypted: _encrypted, ...meta } = file;
    if (!metas.has(key)) metas.set(key, meta);
  }
  recent.set(key, file);
  return file;
}

/** The metadata of slot `index` of a kind: what generated messages carry. */
export function simMediaMeta(kind: SimMediaKind, index: number): SimMediaMeta {
  const { key } = keyOf(kind, index);
  const meta = metas.get(key);
  if (meta) return meta;
  simMediaFile(kind, index);
  return metas.get(key)!;
}

/**
 * The file's `directPath`: WhatsApp's shape (`/v/t62.…/<8>_<16>_<16>_n.enc?ccb=…&oh=…&oe=…`), with the
 * pool slot as the first group of digits; `noise` fills the rest as a real path's tokens would.
 */
export function simMediaPath(kind: SimMediaKind, index: number, noise: { a: string; b: string; oh: string; oe: string }): string {
  const slot = String(simMediaMeta(kind, index).index).padStart(8, '0');
  return `/v/${PATH_PREFIX[kind]}/${slot}_${noise.a}_${noise.b}_n.enc?ccb=11-4&oh=01_Q5Aa${noise.oh}&oe=${noise.oe}&_nc_sid=5e03e0`;
}

/** The file a sim `directPath` (or URL path) names, or null for any other path. */
export function simMediaFileAt(path: string): SimMediaFile | null {
  const m = /^\/v\/(t62\.[0-9-]+)\/(\d{8})_\d{16}_\d{16}_n\.enc(?:\?|$)/.exec(path);
  const kind = m ? KIND_OF_PREFIX.get(m[1]!) : undefined;
  if (!m || !kind) return null;
  const index = Number(m[2]);
  return index < SIM_MEDIA_FILES ? simMediaFile(kind, index) : null;
}

function buildFile(kind: SimMediaKind, index: number): SimMediaFile {
  const seed = createHash('sha256').update(`wasync-sim-media:${kind}:${index}`).digest();
  const image = kind === 'image' ? png(index) : null;
  const plain = image?.bytes ?? pseudoRandomBytes(seed, 2048 + ((index * 977) % 30_000));
  const mediaKey = createHash('sha256').update(seed).update('media-key').digest();
  const expanded = Buffer.from(hkdf(mediaKey, 112, { info: hkdfInfoKey(kind) }));
  const iv = expanded.subarray(0, 16);
  const cipherKey = expanded.subarray(16, 48);
  const macKey = expanded.subarray(48, 80);
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const enc = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac('sha256', macKey).update(iv).update(enc).digest().subarray(0, 10);
  const encrypted = Buffer.concat([enc, mac]);
  return {
    kind,
    index,
    plain,
    encrypted,
    mediaKey,
    fileSha256: createHash('sha256').update(plain).digest(),
    fileEncSha256: createHash('sha256').update(encrypted).digest(),
    fileLength: plain.length,
    width: image?.width ?? null,
    height: image?.height ?? null,
  };
}

/** Deterministic bytes: an AES-256-CTR keystream under the seed (native, so a pool costs milliseconds). */
function pseudoRandomBytes(seed: Buffer, length: number): Buffer {
  return createCipheriv('aes-256-ctr', seed, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** A small RGB PNG: a diagonal gradient between two colours of the slot, with a stripe pattern. */
function png(index: number): { bytes: Buffer; width: number; height: number } {
  const width = 96 + (index % 4) * 32;
  const height = 96 + ((index >> 2) % 3) * 32;
  const hue = (index * 47) % 360;
  const [r1, g1, b1] = hsl(hue, 0.65, 0.55);
  const [r2, g2, b2] = hsl((hue + 140) % 360, 0.6, 0.35);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const t = (x + y) / (width + height);
      const stripe = ((x + y + index) >> 3) % 2 === 0 ? 1 : 0.9;
      raw[row + 1 + x * 3] = Math.round((r1 + (r2 - r1) * t) * stripe);
      raw[row + 2 + x * 3] = Math.round((g1 + (g2 - g1) * t) * stripe);
      raw[row + 3 + x * 3] = Math.round((b1 + (b2 - b1) * t) * stripe);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method variants, no interlace
  const bytes = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return { bytes, width, height };
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function hsl(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return 255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)));
  };
  return [f(0), f(8), f(4)];
}
