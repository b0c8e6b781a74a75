/**
 * Writes examples/scenarios/basic.jsonl, the sample scenario for WA_CONNECTOR=sim WA_SIM_SCENARIO=…
 *
 *   npm run build && node dist/scripts/make-sample-scenario.js [out-file]
 *
 * Every payload is built with Baileys' proto classes and passed through the same functions the
 * simulated phone uses (`processHistoryMessage` for history, Baileys' upsert side effects for live
 * messages), so the file carries exactly the shapes Baileys 7 emits. Times and ids are fixed: the
 * output is the same on every run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cleanMessage, proto, type BaileysEventMap, type WAMessage, type WAMessageKey } from '@whiskeysockets/baileys';
import { historyNotificationMessage, toHistorySetEvent } from '../src/connectors/sim/history-sync.js';
import { int64, uint64 } from '../src/connectors/sim/longs.js';
import { emitUpsert, type Emit } from '../src/connectors/sim/realtime.js';
import { Rng } from '../src/connectors/sim/rng.js';
import { encodeScenarioArchive, encodeScenarioEvent, encodeScenarioMeta } from '../src/connectors/sim/scenario.js';

const ME = { phone: '447700900123', device: 14, lid: '203040506070809' };
const ME_JID = `${ME.phone}@s.whatsapp.net`;
const ME_USER = { id: `${ME.phone}:${ME.device}@s.whatsapp.net`, name: 'Sim Demo', lid: `${ME.lid}:${ME.device}@lid` };
const ANA = { lid: '111222333444555@lid', pn: '447700900456@s.whatsapp.net', name: 'Ana Popescu', push: 'Ana' };
const BEN = { lid: '222333444555666@lid', pn: '491511234567@s.whatsapp.net', push: 'Ben' };
const CARLA = { lid: '333444555666777@lid', pn: '34600111222@s.whatsapp.net', push: 'Carla' };
const DAVID = { lid: '444555666777888@lid', pn: '40722333444@s.whatsapp.net' };
const GROUP = '120363012345678901@g.us';
/** 2025-01-15T10:00:00Z */
const T0 = 1_736_935_200;

const M = proto.Message;
const lines: string[] = [];
let at = 0;

/** Collects what Baileys would emit for an upsert, as scenario lines at the current offset. */
const record: Emit = (event, data) => {
  lines.push(encodeScenarioEvent(event, data, at));
};
function event<E extends keyof BaileysEventMap>(name: E, data: BaileysEventMap[E]): void {
  lines.push(encodeScenarioEvent(name, data, at));
}

/** A message as the history upload carries it. */
function stored(
  key: proto.IMessageKey,
  ts: number,
  message: proto.Message | null,
  extra: Partial<proto.IWebMessageInfo> = {},
): proto.WebMessageInfo {
  return new proto.WebMessageInfo({
    key: new proto.MessageKey(key),
    ...(message ? { message } : {}),
    messageTimestamp: uint64(ts),
    ...extra,
  });
}

/** A message as a live stanza delivers it (decodeMessageNode + cleanMessage). */
function live(key: WAMessageKey, ts: number, message: proto.Message, pushName?: string): WAMessage {
  const msg: WAMessage = {
    key: {
      remoteJid: key.remoteJid,
      remoteJidAlt: key.remoteJidAlt,
      remoteJidUsername: undefined,
      fromMe: key.fromMe ?? false,
      id: key.id,
      participant: key.participant,
      participantAlt: key.participantAlt,
      participantUsername: undefined,
      addressingMode: key.addressingMode,
    },
    category: undefined,
    messageTimestamp: ts,
    pushName,
    broadcast: false,
    message,
  };
  if (key.fromMe) msg.status = proto.WebMessageInfo.Status.SERVER_ACK;
  cleanMessage(msg, ME_USER.id, ME_USER.lid);
  return msg;
}

const text = (t: string) => new M({ conversation: t });
const rng = Rng.fromString('sample-scenario');
function image(caption: string, ts: number): proto.Message {
  const directPath =
    '/v/t62.7118-24/29311412_1180237456841234_4460871539402251234_n.enc?ccb=11-4&oh=01_Q5AaIExample&oe=68A1B2C3&_nc_sid=5e03e0';
  return new M({
    imageMessage: new M.ImageMessage({
      url: `https://mmg.whatsapp.net${directPath}&mms3=true`,
      directPath,
      mimetype: 'image/jpeg',
      caption,
      fileSha256: rng.bytes(32),
      fileEncSha256: rng.bytes(32),
      mediaKey: rng.bytes(32),
      fileLength: uint64(184_233),
      width: 1600,
      height: 1200,
      mediaKeyTimestamp: int64(ts),
    }),
  });
}

// --- meta -------------------------------------------------------------------------------------
lines.push(
  encodeScenarioMeta({
    user: ME_USER,
    description:
      'Sample: a LID-addressed 1:1 chat, a group with receipts, an edit, a revoke, an image with caption, ' +
      'an outbound message from the phone, a LID mapping and an archive for backfill.',
  }),
);

// --- history (t = 0) --------------------------------------------------------------------------
const OWN_GROUP_MSG_ID = '3A1F00000000000000A1';
const ownGroupMsg = stored({ remoteJid: GROUP, fromMe: true, id: OWN_GROUP_MSG_ID }, T0 - 3000, text('See you all on Thursday 📚'), {
  status: proto.WebMessageInfo.Status.SERVER_ACK,
});
const history = new proto.HistorySync({
  syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
  chunkOrder: 1,
  progress: 100,
  conversations: [
    new proto.Conversation({
      id: ANA.lid,
      pnJid: ANA.pn,
      name: ANA.name,
      conversationTimestamp: uint64(T0 - 600),
      unreadCount: 1,
      messages: [
        new proto.HistorySyncMsg({
          message: stored(
            { remoteJid: ANA.lid, fromMe: false, id: 'A1B2C3D4E5F60718293A4B5C6D7E8F90' },
            T0 - 600,
            text('are we still on for tomorrow?'),
          ),
        }),
        new proto.HistorySyncMsg({
          message: stored({ remoteJid: ANA.lid, fromMe: true, id: '3A1F00000000000000B2' }, T0 - 1800, text('yes, 10:00 at the station'), {
            status: proto.WebMessageInfo.Status.READ,
            userReceipt: [new proto.UserReceipt({ userJid: ANA.pn, receiptTimestamp: int64(T0 - 1790), readTimestamp: int64(T0 - 1500) })],
          }),
        }),
      ],
    }),
    new proto.Conversation({
      id: GROUP,
      name: 'Book club',
      conversationTimestamp: uint64(T0 - 2400),
      participant: [
        new proto.GroupParticipant({ userJid: `${ME.lid}@lid`, rank: proto.GroupParticipant.Rank.ADMIN }),
        new proto.GroupParticipant({ userJid: BEN.lid, rank: proto.GroupParticipant.Rank.SUPERADMIN }),
        new proto.GroupParticipant({ userJid: CARLA.lid, rank: proto.GroupParticipant.Rank.REGULAR }),
      ],
      messages: [
        new proto.HistorySyncMsg({
          message: stored(
            { remoteJid: GROUP, fromMe: false, id: '3EB0AA00000000000000C3', participant: BEN.lid },
            T0 - 2400,
            text('chapter 4 was wild'),
            {
              pushName: BEN.push,
            },
          ),
        }),
        new proto.HistorySyncMsg({ message: ownGroupMsg }),
      ],
    }),
  ],
  phoneNumberToLidMappings: [
    new proto.PhoneNumberToLIDMapping({ lidJid: ANA.lid, pnJid: ANA.pn }),
    new proto.PhoneNumberToLIDMapping({ lidJid: BEN.lid, pnJid: BEN.pn }),
    new proto.PhoneNumberToLIDMapping({ lidJid: CARLA.lid, pnJid: CARLA.pn }),
  ],
});
emitUpsert(record, historyNotificationMessage({ jid: ME_JID, idStyle: 'android' }, history, rng, T0), 'notify');
event('messaging-history.status', { syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, status: 'complete', explicit: true });
event('messaging-history.set', toHistorySetEvent(history, { isLatest: true }));

// --- live traffic -----------------------------------------------------------------------------
at = 300;
const anaLive = live(
  { remoteJid: ANA.lid, remoteJidAlt: ANA.pn, fromMe: false, id: 'B7C8D9E0F1A2B3C4D5E6F708192A3B4C', addressingMode: 'lid' },
  T0 + 5,
  text('running 10 minutes late, sorry'),
  ANA.push,
);
emitUpsert(record, anaLive, 'notify');

at = 600;
emitUpsert(
  record,
  live(
    {
      remoteJid: GROUP,
      fromMe: false,
      id: '3A2B3C4D5E6F7A8B9C0D',
      participant: CARLA.lid,
      participantAlt: CARLA.pn,
      addressingMode: 'lid',
    },
    T0 + 12,
    image('view from the hotel', T0 + 12),
    CARLA.push,
  ),
  'notify',
);

// A message typed on the phone itself reaches the companion as an append of our own message.
at = 900;
const outbound = live(
  { remoteJid: ANA.lid, remoteJidAlt: ANA.pn, fromMe: true, id: '3A9E8D7C6B5A49382716', addressingMode: 'lid' },
  T0 + 20,
  text('no worries, see you there'),
);
emitUpsert(record, outbound, 'append');

at = 1200;
event('messages.update', [
  {
    key: { remoteJid: ANA.lid, id: outbound.key.id, fromMe: true, participant: undefined },
    update: { status: proto.WebMessageInfo.Status.DELIVERY_ACK, messageTimestamp: T0 + 21 },
  },
]);
at = 1400;
event('messages.update', [
  {
    key: { remoteJid: ANA.lid, id: outbound.key.id, fromMe: true, participant: undefined },
    update: { status: proto.WebMessageInfo.Status.READ, messageTimestamp: T0 + 40 },
  },
]);

// Group receipts arrive per member, never as a status change.
at = 1500;
event('message-receipt.update', [
  {
    key: { remoteJid: GROUP, id: OWN_GROUP_MSG_ID, fromMe: true, participant: BEN.lid },
    receipt: { userJid: BEN.lid, readTimestamp: T0 + 45 },
  },
  {
    key: { remoteJid: GROUP, id: OWN_GROUP_MSG_ID, fromMe: true, participant: CARLA.lid },
    receipt: { userJid: CARLA.lid, receiptTimestamp: T0 + 46 },
  },
]);

// Ana edits her live message: the protocol message is upserted, Baileys derives the update.
at = 1800;
emitUpsert(
  record,
  live(
    { remoteJid: ANA.lid, remoteJidAlt: ANA.pn, fromMe: false, id: 'C1D2E3F4A5B6C7D8E9F0A1B2C3D4E5F6', addressingMode: 'lid' },
    T0 + 60,
    new M({
      protocolMessage: new M.ProtocolMessage({
        key: new proto.MessageKey({ remoteJid: ANA.pn, fromMe: true, id: anaLive.key.id }),
        type: M.ProtocolMessage.Type.MESSAGE_EDIT,
        editedMessage: text('running 15 minutes late, sorry!'),
        timestampMs: int64((T0 + 60) * 1000),
      }),
    }),
    ANA.push,
  ),
  'notify',
);

// Ben deletes his history message for everyone.
at = 2100;
emitUpsert(
  record,
  live(
    { remoteJid: GROUP, fromMe: false, id: '3EB0BB00000000000000D4', participant: BEN.lid, participantAlt: BEN.pn, addressingMode: 'lid' },
    T0 + 75,
    new M({
      protocolMessage: new M.ProtocolMessage({
        key: new proto.MessageKey({ remoteJid: GROUP, fromMe: true, id: '3EB0AA00000000000000C3', participant: BEN.lid }),
        type: M.ProtocolMessage.Type.REVOKE,
      }),
    }),
    BEN.push,
  ),
  'notify',
);

at = 2300;
event('lid-mapping.update', { lid: DAVID.lid, pn: DAVID.pn });

// --- archive: what the phone still holds, for fetchMessageHistory ----------------------------
const archive: proto.WebMessageInfo[] = [];
for (let k = 0; k < 4; k++) {
  const fromMe = k % 2 === 1;
  archive.push(
    stored(
      { remoteJid: ANA.lid, fromMe, id: fromMe ? `3A1F00000000000000E${k}` : `A1B2C3D4E5F6000000000000000000E${k}` },
      T0 - 86_400 * (k + 1),
      text(['happy birthday!! 🎉', 'thanks!!', 'did you see the email from Maria?', 'I will call you after the meeting'][k] as string),
      fromMe ? { status: proto.WebMessageInfo.Status.READ } : {},
    ),
  );
}
archive.push(
  stored(
    { remoteJid: GROUP, fromMe: false, id: '3EB0CC00000000000000E5', participant: CARLA.lid },
    T0 - 7 * 86_400,
    text('welcome to the club!'),
    { pushName: CARLA.push },
  ),
);
archive.push(
  stored(
    { remoteJid: GROUP, fromMe: false, id: '3EB0CC00000000000000E6', participant: BEN.lid },
    T0 - 8 * 86_400,
    image('the first book', T0 - 8 * 86_400),
    { pushName: BEN.push },
  ),
);
lines.push(encodeScenarioArchive(archive as WAMessage[]));

const out = process.argv[2] ?? 'examples/scenarios/basic.jsonl';
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${lines.join('\n')}\n`);
process.stdout.write(`wrote ${lines.length} lines to ${out}\n`);
