import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, Stripe-style (README, "Webhooks"): `HMAC-SHA256(secret, timestamp + "." + rawBody)`
 * as hex, sent as `Wasync-Signature: t=<timestamp>,v1=<hex>` with the timestamp (Unix seconds) also in
 * `Wasync-Timestamp`. A receiver recomputes it over the exact bytes it received and refuses stale
 * timestamps, which stops replays.
 */

export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signPayload(secret, timestamp, body)}`;
}

/** The receiver's side (what the README's snippet does), used by the tests and the example receiver. */
export function verifySignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(v1)) return false;
  return timingSafeEqual(Buffer.from(v1, 'hex'), Buffer.from(signPayload(secret, t, body), 'hex'));
}

/** `whsec_` + 32 random bytes: the secret an endpoint gets when none is given. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The same for every attempt of one event to one endpoint: what a receiver dedupes by. */
export function deliveryId(endpointId: string, eventId: string): string {
  return `dlv_${createHash('sha256').update(`${endpointId}\u0000${eventId}`).digest('base64url').slice(0, 24)}`;
}
