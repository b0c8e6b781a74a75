import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BufferJSON, proto } from '@whiskeysockets/baileys';

/**
 * The recorded-session style scenario the end-to-end tests replay through the simulated phone
 * (test/e2e/scenario-api.test.ts on SQLite, test/e2e/firestore-scenario.test.ts on Firestore), in the
 * phone's scenario file format (docs/simulated-phone.md).
 */

export const SCENARIO_ACCOUNT = 'acc_e2e';
export const PEER_PN = '40712345678@s.whatsapp.net';
export const PEER_LID = '123456789012345@lid';
export const GROUP = '120363000000000001@g.us';
/** Seconds, like WhatsApp. */
export const T = (s: number): number => 1_760_000_000 + s;

/**
 * Older messages of the person's chat that only a backfill brings (the phone's `archive` line): all
 * older than the oldest history message (HIST_IN_1, T(10)), which is the backfill's anchor.
 */
export const ARCHIVE = {
  inbound: { id: 'ARCH_IN_1', ts: T(1), body: 'archived hello' },
  outbound: { id: 'ARCH_OUT_1', ts: T(2), body: 'archived reply' },
  document: { id: 'ARCH_DOC_1', ts: T(3), fileName: 'report.pdf', mimetype: 'application/pdf', url: 'https://mmg.whatsapp.net/d' },
} as const;

const line = (obj: unknown): string => JSON.stringify(obj, BufferJSON.replacer);

/**
 * A history sync, a live message addressed by LID (with the phone number in `remoteJidAlt`),
 * receipts, an edit, a revoke, a protocol message that must be skipped, a group message with a
 * participant receipt, and an archive of older messages for on-demand backfill.
 */
export function scenario(): string {
  const history = {
    chats: [{ id: PEER_PN, name: 'Chat Name', conversationTimestamp: T(20) }],
    contacts: [{ id: PEER_PN, name: 'John Doe', lid: PEER_LID, phoneNumber: PEER_PN }],
    messages: [
      {
        key: { remoteJid: PEER_PN, fromMe: false, id: 'HIST_IN_1' },
        messageTimestamp: T(10),
        pushName: 'Johnny',
        message: { conversation: 'Hello from history' },
      },
      {
        key: { remoteJid: PEER_PN, fromMe: true, id: 'HIST_OUT_1' },
        messageTimestamp: T(20),
        status: proto.WebMessageInfo.Status.READ,
        message: {
          imageMessage: {
            caption: 'a photo',
            mimetype: 'image/jpeg',
            url: 'https://mmg.whatsapp.net/x',
            fileLength: 1234,
            mediaKey: Buffer.from('k'.repeat(32)),
          },
        },
      },
      // Key distribution only: skipped, never an error.
      {
        key: { remoteJid: PEER_PN, fromMe: false, id: 'HIST_SKD' },
        messageTimestamp: T(21),
        message: { senderKeyDistributionMessage: { groupId: GROUP } },
      },
    ],
    syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
    progress: 100,
    isLatest: true,
  };
  const live = {
    type: 'notify',
    messages: [
      {
        key: { remoteJid: PEER_LID, remoteJidAlt: PEER_PN, fromMe: false, id: 'LIVE_IN_1' },
        messageTimestamp: T(30),
        pushName: 'Johnny',
        message: { extendedTextMessage: { text: 'live hello' } },
      },
    ],
  };
  const groupMsg = {
    type: 'notify',
    messages: [
      {
        key: { remoteJid: GROUP, fromMe: true, id: 'GROUP_OUT_1' },
        messageTimestamp: T(31),
        status: proto.WebMessageInfo.Status.SERVER_ACK,
        message: { conversation: 'hi group' },
      },
    ],
  };
  const archive = [
    {
      key: { remoteJid: PEER_PN, fromMe: false, id: ARCHIVE.inbound.id },
      messageTimestamp: ARCHIVE.inbound.ts,
      pushName: 'Johnny',
      message: { conversation: ARCHIVE.inbound.body },
    },
    {
      key: { remoteJid: PEER_PN, fromMe: true, id: ARCHIVE.outbound.id },
      messageTimestamp: ARCHIVE.outbound.ts,
      status: proto.WebMessageInfo.Status.READ,
      message: { conversation: ARCHIVE.outbound.body },
    },
    {
      key: { remoteJid: PEER_PN, fromMe: false, id: ARCHIVE.document.id },
      messageTimestamp: ARCHIVE.document.ts,
      message: {
        documentMessage: {
          fileName: ARCHIVE.document.fileName,
          mimetype: ARCHIVE.document.mimetype,
          url: ARCHIVE.document.url,
          fileLength: 4096,
          mediaKey: Buffer.from('d'.repeat(32)),
        },
      },
    },
  ];
  return [
    line({ type: 'event', at: 0, event: 'messaging-history.set', data: history }),
    line({ type: 'event', at: 40, event: 'messages.upsert', data: live }),
    line({ type: 'event', at: 60, event: 'messages.upsert', data: groupMsg }),
    // Receipts out of order: read arrives before delivered; the late delivered must not win.
    line({
      type: 'event',
      at: 80,
      event: 'message-receipt.update',
      data: [
        {
          key: { remoteJid: GROUP, fromMe: true, id: 'GROUP_OUT_1' },
          receipt: { userJid: '40799999999@s.whatsapp.net', readTimestamp: T(40) },
        },
      ],
    }),
    line({
      type: 'event',
      at: 100,
      event: 'message-receipt.update',
      data: [
        {
          key: { remoteJid: GROUP, fromMe: true, id: 'GROUP_OUT_1' },
          receipt: { userJid: '40799999999@s.whatsapp.net', receiptTimestamp: T(35) },
        },
      ],
    }),
    // The person edits the live message, then revokes the history one.
    line({
      type: 'event',
      at: 120,
      event: 'messages.update',
      data: [
        {
          key: { remoteJid: PEER_LID, fromMe: false, id: 'LIVE_IN_1' },
          update: { message: { editedMessage: { message: { conversation: 'live hello (edited)' } } }, messageTimestamp: T(50) },
        },
      ],
    }),
    line({
      type: 'event',
      at: 140,
      event: 'messages.update',
      data: [
        {
          key: { remoteJid: PEER_PN, fromMe: false, id: 'HIST_IN_1' },
          update: { message: null, messageStubType: proto.WebMessageInfo.StubType.REVOKE },
        },
      ],
    }),
    // Only `fetchMessageHistory` (a backfill) serves these.
    line({ type: 'archive', messages: archive }),
  ].join('\n');
}

/** Writes the scenario to a fresh file in the temp directory and returns its path. */
export function writeScenarioFile(tag: string): string {
  const file = path.join(os.tmpdir(), `wasync-scenario-${tag}-${process.pid}.jsonl`);
  writeFileSync(file, scenario());
  return file;
}
