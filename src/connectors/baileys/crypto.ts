import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WasyncError } from '../../domain/errors.js';

/**
 * Sealing of Baileys auth state at rest (AUTH_STATE_KEY). Layout of a sealed value:
 *
 *   version (1) | key fingerprint (4) | IV (12) | ciphertext | GCM tag (16)
 *
 * The version byte is 0x01: plaintext values are JSON text and can never start with a control
 * character, so one byte tells the two forms apart without guessing. The fingerprint is the first
 * 4 bytes of HMAC-SHA256(key, label): it lets a wrong key be reported as such (instead of as
 * corruption) and leaks nothing usable about a 256-bit key. The AAD binds the header and the value's
 * slot (account, key type, key id), so a sealed value copied into another slot fails to open instead
 * of being accepted as that slot's secret.
 */

const VERSION = 0x01;
const FINGERPRINT_LENGTH = 4;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + FINGERPRINT_LENGTH + IV_LENGTH;
const FINGERPRINT_LABEL = 'wasync/auth-state/key-fingerprint/v1';
/** JSON text may start with whitespace; every other control byte marks a sealed value. */
const JSON_WHITESPACE = new Set([0x09, 0x0a, 0x0d, 0x20]);

export function keyFingerprint(key: Buffer): Buffer {
  return createHmac('sha256', key).update(FINGERPRINT_LABEL).digest().subarray(0, FINGERPRINT_LENGTH);
}

/** True when the bytes are in the sealed layout (any version), false for plaintext JSON. */
export function isSealed(data: Uint8Array): boolean {
  const first = data[0];
  return first !== undefined && first < 0x20 && !JSON_WHITESPACE.has(first);
}

function invalid(message: string, cause?: unknown): WasyncError {
  return new WasyncError('AUTH_STATE_KEY_INVALID', message, cause === undefined ? undefined : { cause });
}

/**
 * Seals and opens auth-state values. Without a key it passes plaintext through but still refuses
 * sealed data, so starting without AUTH_STATE_KEY never silently re-pairs over an encrypted session.
 * Errors name the slot kind, never key material or values.
 */
export class AuthStateSealer {
  readonly encrypted: boolean;
  private readonly key: Buffer | null;
  private readonly fingerprint: Buffer | null;

  constructor(key?: Buffer) {
    if (key !== undefined && key.length !== 32) {
      throw invalid(`AUTH_STATE_KEY must be 32 bytes (got ${key.length})`);
    }
    this.key = key ?? null;
    this.fingerprint = key ? keyFingerprint(key) : null;
    this.encrypted = key !== undefined;
  }

  seal(plain: Uint8Array, slot: string): Uint8Array {
    if (!this.key || !this.fingerprint) return plain;
    const header = Buffer.alloc(HEADER_LENGTH);
    header[0] = VERSION;
    this.fingerprint.copy(header, 1);
    const iv = randomBytes(IV_LENGTH);
    iv.copy(header, 1 + FINGERPRINT_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(aad(header, slot));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([header, body, cipher.getAuthTag()]);
  }

  open(data: Uint8Array, slot: string, what: string): Uint8Array {
    const sealed = isSealed(data);
    if (!this.key || !this.fingerprint) {
      if (sealed) {
        throw invalid(`${what} is encrypted but AUTH_STATE_KEY is not set: set the key it was written with`);
      }
      return data;
    }
    if (!sealed) {
      throw invalid(
        `${what} is stored unencrypted but AUTH_STATE_KEY is set: unset the key, or re-pair the account to store its session encrypted`,
      );
    }
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (buf[0] !== VERSION) throw invalid(`${what} uses an unknown encryption format (version ${buf[0]})`);
    if (buf.length < HEADER_LENGTH + TAG_LENGTH) throw invalid(`${what} is truncated`);
    const header = buf.subarray(0, HEADER_LENGTH);
    const fingerprint = header.subarray(1, 1 + FINGERPRINT_LENGTH);
    if (!timingSafeEqual(fingerprint, this.fingerprint)) {
      throw invalid(`AUTH_STATE_KEY does not match the key ${what} was encrypted with`);
    }
    const iv = header.subarray(1 + FINGERPRINT_LENGTH);
    const tag = buf.subarray(buf.length - TAG_LENGTH);
    const body = buf.subarray(HEADER_LENGTH, buf.length - TAG_LENGTH);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad(header, slot));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch (err) {
      // The fingerprint matched, so the key is right: the bytes were altered or moved between slots.
      throw invalid(`${what} failed its integrity check (corrupted, or copied from another slot)`, err);
    }
  }
}

function aad(header: Buffer, slot: string): Buffer {
  return Buffer.concat([header.subarray(0, 1 + FINGERPRINT_LENGTH), Buffer.from(slot, 'utf8')]);
}
