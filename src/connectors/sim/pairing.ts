import { randomBytes } from 'node:crypto';
import { buildPairingQRData, DEFAULT_CONNECTION_CONFIG } from '@whiskeysockets/baileys';

/**
 * A QR payload in the exact form Baileys 7 emits (`buildPairingQRData`: the linked-devices URL with
 * `ref,noiseKey,identityKey,advSecret,platform`), made of random keys. Scanning it does nothing.
 */
export function simQrString(): string {
  const ref = `2@${randomBytes(60).toString('base64')}`;
  const b64 = () => randomBytes(32).toString('base64');
  return buildPairingQRData(ref, b64(), b64(), b64(), DEFAULT_CONNECTION_CONFIG.browser);
}

/** WhatsApp's pairing-code alphabet (Crockford base32 without 0, I, O, U). */
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTVWXYZ';

export function simPairingCode(): string {
  let code = '';
  for (const b of randomBytes(8)) code += ALPHABET[b % ALPHABET.length];
  return code;
}
