import { isLidUser, jidNormalizedUser } from '@whiskeysockets/baileys';
import { BadRequestError } from '../domain/errors.js';

const PHONE = /^\+?\d{6,15}$/;
const JID = /^[0-9A-Za-z._:-]{1,64}@(s\.whatsapp\.net|c\.us|g\.us|lid|newsletter|broadcast)$/;

/**
 * Turns the API's `to` (a phone number or a JID) into the canonical chat JID: the phone-number JID
 * for people (a LID is mapped when its pairing is known), the group JID for groups. Same rule as
 * ingest, so a send lands in the thread the person's inbound messages are in.
 */
export function resolveRecipient(to: string, pnForLid: (lid: string) => string | undefined): string {
  const value = to.trim();
  if (PHONE.test(value)) return `${value.replace(/^\+/, '')}@s.whatsapp.net`;
  if (!JID.test(value)) throw new BadRequestError('`to` must be a phone number (6-15 digits) or a WhatsApp JID');
  const jid = jidNormalizedUser(value);
  if (isLidUser(jid)) return pnForLid(jid) ?? jid;
  return jid;
}
