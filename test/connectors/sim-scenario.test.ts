import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DisconnectReason, proto, toNumber, type BaileysEventMap, type WAMessage } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeScenarioArchive,
  encodeScenarioEvent,
  encodeScenarioMeta,
  generateHistory,
  parseScenario,
  ScenarioError,
  SimConnector,
  SimDisconnectError,
  writeScenarioLine,
  type SimPhone,
} from '../../src/connectors/sim/index.js';
import { isLongValue, ofType, recordEvents, simContext, waitFor, type Recorded } from './sim-support.js';

const SAMPLE = fileURLToPath(new URL('../../examples/scenarios/basic.jsonl', import.meta.url));
const FAST = { ackMs: 5, deliveryMs: 5, readMs: 5, historyMs: 1, onDemandMs: 5, pairMs: 0 };

const phones: SimPhone[] = [];
afterEach(async () => {
  for (const p of phones.splice(0)) await p.end(undefined);
});

const line = (o: unknown) => JSON.stringify(o);
const liveText = (id: string, ts: number, text: string) => ({
  key: { remoteJid: '111222333444555@lid', remoteJidAlt: '447700900456@s.whatsapp.net', fromMe: false, id, addressingMode: 'lid' },
  messageTimestamp: ts,
  pushName: 'Ana',
  message: { conversation: text },
});

describe('parseScenario', () => {
  it('parses meta, events and archive lines, skipping blanks and comments', () => {
    const text = [
      '# a hand-written scenario',
      line({ type: 'meta', version: 1, user: { id: '447700900123:3@s.whatsapp.net', name: 'Me' } }),
      '',
      line({
        type: 'event',
        at: 50,
        event: 'messages.upsert',
        data: { type: 'notify', messages: [liveText('L2', 1_736_935_300, 'second')] },
      }),
      line({
        type: 'event',
        at: 0,
        event: 'messaging-history.set',
        data: {
          chats: [{ id: '111222333444555@lid', conversationTimestamp: 1_736_935_000 }],
          contacts: [],
          messages: [liveText('H1', 1_736_935_000, 'old')],
          syncType: 'RECENT',
          progress: 100,
        },
      }),
      line({ type: 'event', at: 50, event: 'lid-mapping.update', data: { lid: '111222333444555@lid', pn: '447700900456@s.whatsapp.net' } }),
      line({
        type: 'archive',
        messages: [
          {
            key: { remoteJid: '111222333444555@lid', fromMe: true, id: 'A1' },
            messageTimestamp: 1_736_000_000,
            message: { conversation: 'older' },
          },
        ],
      }),
    ].join('\n');
    const s = parseScenario(text, 'inline.jsonl');
    expect(s.meta).toEqual({ version: 1, user: { id: '447700900123:3@s.whatsapp.net', name: 'Me' } });
    expect(s.scriptedLifecycle).toBe(false);
    expect(s.segments).toHaveLength(1);
    // Sorted by `at`, file order among equal offsets.
    expect(s.segments[0]?.map((e) => [e.at, e.event, e.line])).toEqual([
      [0, 'messaging-history.set', 5],
      [50, 'messages.upsert', 4],
      [50, 'lid-mapping.update', 6],
    ]);
    expect(s.archive).toHaveLength(1);
    expect(s.archive[0]).toBeInstanceOf(proto.WebMessageInfo);
    expect(isLongValue(s.archive[0]?.messageTimestamp)).toBe(true);
  });

  it('rehydrates payloads into Baileys shapes: history as proto + Long, live as plain + number', () => {
    const text = [
      line({
        type: 'event',
        at: 0,
        event: 'messaging-history.set',
        data: {
          chats: [{ id: '111222333444555@lid', conversationTimestamp: 1_736_935_000, lastMessageRecvTimestamp: 1_736_935_000 }],
          contacts: [],
          messages: [liveText('H1', 1_736_935_000, 'old')],
          syncType: 'RECENT',
        },
      }),
      line({ type: 'event', at: 1, event: 'messages.upsert', data: { type: 'notify', messages: [liveText('L1', 1_736_935_300, 'new')] } }),
      line({
        type: 'event',
        at: 2,
        event: 'messages.update',
        data: [{ key: { remoteJid: '111222333444555@lid', id: 'X', fromMe: true }, update: { status: 'READ' } }],
      }),
      line({
        type: 'event',
        at: 3,
        event: 'connection.update',
        data: {
          connection: 'close',
          lastDisconnect: { error: { message: 'bye', output: { statusCode: 401 } }, date: '2025-01-15T10:00:00.000Z' },
        },
      }),
    ].join('\n');
    const [history, upsert, update, close] = (parseScenario(text).segments[0] ?? []).map((e) => e.materialize());

    const set = history?.data as BaileysEventMap['messaging-history.set'];
    expect(set.syncType).toBe(proto.HistorySync.HistorySyncType.RECENT);
    expect(set.messages[0]).toBeInstanceOf(proto.WebMessageInfo);
    expect(isLongValue(set.messages[0]?.messageTimestamp)).toBe(true);
    // Baileys' additions survive the proto class: the key's alternative JID, the chat's receive time.
    expect(set.messages[0]?.key.remoteJidAlt).toBe('447700900456@s.whatsapp.net');
    expect(set.chats[0]).toBeInstanceOf(proto.Conversation);
    expect(set.chats[0]?.lastMessageRecvTimestamp).toBe(1_736_935_000);

    const live = (upsert!.data as BaileysEventMap['messages.upsert']).messages[0] as WAMessage;
    expect(live).not.toBeInstanceOf(proto.WebMessageInfo);
    expect(live.messageTimestamp).toBe(1_736_935_300);
    expect(live.message).toBeInstanceOf(proto.Message);
    expect(live.key.remoteJidAlt).toBe('447700900456@s.whatsapp.net');

    expect((update!.data as BaileysEventMap['messages.update'])[0]?.update.status).toBe(proto.WebMessageInfo.Status.READ);
    const lastDisconnect = (close!.data as BaileysEventMap['connection.update']).lastDisconnect;
    expect(lastDisconnect?.error).toBeInstanceOf(SimDisconnectError);
    expect((lastDisconnect!.error as SimDisconnectError).output.statusCode).toBe(401);
    expect(lastDisconnect?.date).toEqual(new Date('2025-01-15T10:00:00.000Z'));
  });

  it.each([
    ['invalid JSON', '{"type":"event",', /bad\.jsonl:3: invalid JSON/],
    ['not an object', '[1,2]', /bad\.jsonl:3: expected a JSON object/],
    ['unknown type', line({ type: 'video' }), /bad\.jsonl:3: unknown line type "video"/],
    ['negative at', line({ type: 'event', at: -5, event: 'chats.delete', data: [] }), /bad\.jsonl:3: "at" must be/],
    ['unknown event', line({ type: 'event', at: 0, event: 'message.upsert', data: {} }), /bad\.jsonl:3: unknown event "message\.upsert"/],
    ['missing data', line({ type: 'event', at: 0, event: 'chats.delete' }), /bad\.jsonl:3: "data" is missing/],
    [
      'bad upsert type',
      line({ type: 'event', at: 0, event: 'messages.upsert', data: { type: 'live', messages: [] } }),
      /bad\.jsonl:3: messages\.upsert: data\.type must be/,
    ],
    [
      'message without key',
      line({ type: 'event', at: 0, event: 'messages.upsert', data: { type: 'notify', messages: [{ messageTimestamp: 1 }] } }),
      /bad\.jsonl:3: messages\.upsert: data\.messages\[0\]\.key must be an object/,
    ],
    [
      'history without arrays',
      line({ type: 'event', at: 0, event: 'messaging-history.set', data: { chats: [] } }),
      /bad\.jsonl:3: messaging-history\.set: data\.contacts must be an array/,
    ],
    [
      'archive message without id',
      line({ type: 'archive', messages: [{ key: { remoteJid: 'x@lid' } }] }),
      /bad\.jsonl:3: messages\[0\]\.key\.id must be a non-empty string/,
    ],
    ['second meta', line({ type: 'meta' }), /bad\.jsonl:3: a second "meta" line/],
  ])('rejects %s, naming the line', (_name, bad, message) => {
    const text = [line({ type: 'meta', version: 1 }), '', bad].join('\n');
    expect(() => parseScenario(text, 'bad.jsonl')).toThrow(message);
    try {
      parseScenario(text, 'bad.jsonl');
    } catch (err) {
      expect(err).toBeInstanceOf(ScenarioError);
      expect((err as ScenarioError).line).toBe(3);
    }
  });

  it('round-trips what the simulated phone emits (history with Longs and Buffers, errors)', () => {
    const h = generateHistory({ chats: 4, messagesPerChat: 8, seed: 'roundtrip', now: Date.UTC(2025, 0, 15) });
    const out: string[] = [];
    const sink = { write: (chunk: string) => out.push(chunk) };
    writeScenarioLine(sink, encodeScenarioMeta({ user: { id: '1:2@s.whatsapp.net', name: 'Me' } }));
    for (const chunk of h.chunks) writeScenarioLine(sink, encodeScenarioEvent('messaging-history.set', chunk, 10));
    writeScenarioLine(
      sink,
      encodeScenarioEvent(
        'connection.update',
        { connection: 'close', lastDisconnect: { error: new SimDisconnectError('Intentional Logout', 401), date: new Date(0) } },
        20,
      ),
    );
    writeScenarioLine(sink, encodeScenarioArchive(h.archive));
    expect(out.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);

    const s = parseScenario(out.join(''));
    const events = (s.segments[0] ?? []).map((e) => e.materialize());
    const sets = events.filter((e) => e.event === 'messaging-history.set').map((e) => e.data as BaileysEventMap['messaging-history.set']);
    expect(sets).toHaveLength(h.chunks.length);
    sets.forEach((set, k) => {
      const original = h.chunks[k] as BaileysEventMap['messaging-history.set'];
      expect(set.messages).toStrictEqual(original.messages);
      expect(set.chats.map((c) => ({ ...c }))).toEqual(original.chats.map((c) => ({ ...c })));
      expect(set.contacts).toEqual(original.contacts.map((c) => JSON.parse(JSON.stringify(c)) as unknown));
      expect(set.lidPnMappings).toEqual(original.lidPnMappings);
      expect([set.syncType, set.progress, set.isLatest, set.chunkOrder]).toEqual([
        original.syncType,
        original.progress,
        original.isLatest,
        original.chunkOrder,
      ]);
    });
    const close = events.find((e) => e.event === 'connection.update')?.data as BaileysEventMap['connection.update'];
    expect((close.lastDisconnect!.error as SimDisconnectError).output.statusCode).toBe(401);
    expect(s.archive).toStrictEqual(h.archive);
  });

  it('parses the sample scenario', () => {
    const s = parseScenario(readFileSync(SAMPLE, 'utf8'), SAMPLE);
    const events = (s.segments[0] ?? []).map((e) => e.event);
    for (const name of [
      'messaging-history.set',
      'messages.upsert',
      'messages.update',
      'message-receipt.update',
      'lid-mapping.update',
      'contacts.update',
      'chats.update',
    ] as const) {
      expect(events).toContain(name);
    }
    expect(s.meta?.user?.id).toBe('447700900123:14@s.whatsapp.net');
    expect(s.archive.length).toBeGreaterThan(0);
  });
});

describe('scenario replay', () => {
  it('emits events at their offsets, in order, after the phone’s own lifecycle', async () => {
    const text = [
      line({ type: 'event', at: 120, event: 'lid-mapping.update', data: { lid: '3@lid', pn: '3@s.whatsapp.net' } }),
      line({ type: 'event', at: 0, event: 'lid-mapping.update', data: { lid: '1@lid', pn: '1@s.whatsapp.net' } }),
      line({ type: 'event', at: 60, event: 'lid-mapping.update', data: { lid: '2@lid', pn: '2@s.whatsapp.net' } }),
    ].join('\n');
    const connector = new SimConnector({ scenario: parseScenario(text), chats: 0, messagesPerChat: 0, rate: 0, delays: FAST });
    const phone = (await connector.connect(simContext())) as SimPhone;
    phones.push(phone);
    const events = recordEvents(phone);
    await waitFor(() => ofType(events, 'lid-mapping.update').length === 3, 3000, 'replay');

    const updates = ofType(events, 'connection.update');
    expect(updates.some((u) => typeof u.qr === 'string')).toBe(true);
    const pendingAt = (
      events.find(
        (e) => e.event === 'connection.update' && (e.data as { receivedPendingNotifications?: boolean }).receivedPendingNotifications,
      ) as Recorded
    ).at;
    const mappings = events.filter((e) => e.event === 'lid-mapping.update');
    expect(mappings.map((e) => (e.data as { lid: string }).lid)).toEqual(['1@lid', '2@lid', '3@lid']);
    const offsets = mappings.map((e) => e.at - pendingAt);
    expect(offsets[1]).toBeGreaterThanOrEqual(60 - 5);
    expect(offsets[2]).toBeGreaterThanOrEqual(120 - 5);
    expect(offsets[2]).toBeLessThan(120 + 500);
  });

  it('replays faster with replaySpeed', async () => {
    const text = [0, 400, 800]
      .map((at, k) => line({ type: 'event', at, event: 'lid-mapping.update', data: { lid: `${k}@lid`, pn: `${k}@s.whatsapp.net` } }))
      .join('\n');
    const connector = new SimConnector({
      scenario: parseScenario(text),
      replaySpeed: 8,
      chats: 0,
      messagesPerChat: 0,
      rate: 0,
      delays: FAST,
    });
    const phone = (await connector.connect(simContext())) as SimPhone;
    phones.push(phone);
    const events = recordEvents(phone);
    const t0 = Date.now();
    await waitFor(() => ofType(events, 'lid-mapping.update').length === 3, 3000, 'fast replay');
    expect(Date.now() - t0).toBeLessThan(600);
    expect(ofType(events, 'lid-mapping.update').map((m) => m.lid)).toEqual(['0@lid', '1@lid', '2@lid']);
  });

  it('lets a scenario with connection.update drive the lifecycle, one segment per connection', async () => {
    const user = { id: '447700900123:5@s.whatsapp.net', name: 'Scripted' };
    const text = [
      line({ type: 'meta', version: 1, user }),
      line({ type: 'event', at: 0, event: 'connection.update', data: { connection: 'connecting' } }),
      line({ type: 'event', at: 10, event: 'connection.update', data: { connection: 'open' } }),
      line({
        type: 'event',
        at: 20,
        event: 'connection.update',
        data: {
          connection: 'close',
          lastDisconnect: { error: { message: 'Stream Errored (restart required)', output: { statusCode: 515 } } },
        },
      }),
      line({ type: 'event', at: 0, event: 'connection.update', data: { connection: 'open' } }),
      line({
        type: 'event',
        at: 5,
        event: 'messages.upsert',
        data: { type: 'notify', messages: [liveText('S2', 1_736_935_300, 'after restart')] },
      }),
    ].join('\n');
    const scenario = parseScenario(text);
    expect(scenario.scriptedLifecycle).toBe(true);
    expect(scenario.segments.map((s) => s.length)).toEqual([3, 2]);
    const connector = new SimConnector({ scenario, chats: 0, messagesPerChat: 0, rate: 0, delays: FAST });

    const first = (await connector.connect(simContext('acc_scripted'))) as SimPhone;
    phones.push(first);
    const e1 = recordEvents(first);
    await waitFor(() => first.connection === 'closed', 2000, 'scripted close');
    const u1 = ofType(e1, 'connection.update');
    expect(u1.map((u) => u.connection)).toEqual(['connecting', 'open', 'close']);
    expect(u1.some((u) => 'qr' in u)).toBe(false);
    expect((u1[2]!.lastDisconnect!.error as SimDisconnectError).output.statusCode).toBe(DisconnectReason.restartRequired);

    const second = (await connector.connect(simContext('acc_scripted'))) as SimPhone;
    phones.push(second);
    const e2 = recordEvents(second);
    await waitFor(() => ofType(e2, 'messages.upsert').length === 1, 2000, 'second segment');
    expect(second.user).toMatchObject(user);
    expect(ofType(e2, 'messages.upsert')[0]?.messages[0]?.key.id).toBe('S2');
  });

  it('replays the sample scenario and backfills from its archive', async () => {
    const connector = new SimConnector({
      scenarioFile: SAMPLE,
      replaySpeed: 20,
      chats: 0,
      messagesPerChat: 0,
      rate: 0,
      delays: { ...FAST, onDemandMs: 1 },
    });
    const phone = (await connector.connect(simContext('acc_sample'))) as SimPhone;
    phones.push(phone);
    const events = recordEvents(phone);
    await waitFor(() => ofType(events, 'lid-mapping.update').length === 1, 5000, 'sample replay');

    const edits = ofType(events, 'messages.update')
      .flat()
      .filter((u) => u.update.message?.editedMessage);
    const revokes = ofType(events, 'messages.update')
      .flat()
      .filter((u) => u.update.messageStubType === proto.WebMessageInfo.StubType.REVOKE);
    expect(edits).toHaveLength(1);
    expect(revokes).toHaveLength(1);
    expect(ofType(events, 'message-receipt.update').flat()).toHaveLength(2);
    const appends = ofType(events, 'messages.upsert').filter((u) => u.type === 'append');
    expect(appends[0]?.messages[0]?.key.fromMe).toBe(true);
    const image = ofType(events, 'messages.upsert')
      .flatMap((u) => u.messages)
      .find((m) => m.message?.imageMessage);
    expect(image?.message?.imageMessage?.caption).toBe('view from the hotel');
    expect(phone.user?.id).toBe('447700900123:14@s.whatsapp.net');

    // Backfill the LID chat by its phone number: the archive answers.
    const oldestAna = ofType(events, 'messaging-history.set')[0]
      ?.messages.filter((m) => m.key.remoteJid === '111222333444555@lid')
      .reduce((a, b) => (toNumber(b.messageTimestamp) < toNumber(a.messageTimestamp) ? b : a)) as WAMessage;
    const id = await phone.fetchMessageHistory(
      3,
      { ...oldestAna.key, remoteJid: '447700900456@s.whatsapp.net' },
      oldestAna.messageTimestamp as number,
    );
    await waitFor(() => ofType(events, 'messaging-history.set').some((s) => s.peerDataRequestSessionId === id), 2000, 'on-demand');
    const set = ofType(events, 'messaging-history.set').find((s) => s.peerDataRequestSessionId === id);
    expect(set?.syncType).toBe(proto.HistorySync.HistorySyncType.ON_DEMAND);
    expect(set?.messages.map((m) => m.message?.conversation)).toEqual([
      'happy birthday!! 🎉',
      'thanks!!',
      'did you see the email from Maria?',
    ]);
  });
});
