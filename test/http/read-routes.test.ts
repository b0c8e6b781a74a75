import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadIdOf, type MessageRecord } from '../../src/domain/records.js';
import { BASE_TIME, makeMessage } from '../support/records.js';
import { AUTH, call, isErrorBody, startHarness, type Harness } from './harness.js';

const ACC = 'account_prod_read1';
const JID = '40712345678@s.whatsapp.net';
const THREAD = threadIdOf(ACC, JID);

// The same suite inline and through the piscina read pool: both paths must answer identically.
describe.each([{ pooled: false }, { pooled: true }])('read routes (pooled: $pooled)', ({ pooled }) => {
  let h: Harness;
  /** Every message of THREAD, in the store's order (createdAt, id). */
  let threadMessages: MessageRecord[];

  beforeAll(async () => {
    h = await startHarness({ pooled });
    await h.store.createAccount({ id: ACC, status: 'open', lastBackfillAt: BASE_TIME + 5_000, lastHistorySyncAt: BASE_TIME + 6_000 });
    // 23 messages where every group of 5 shares one createdAt: page boundaries fall inside equal timestamps.
    threadMessages = Array.from({ length: 23 }, (_, i) =>
      makeMessage({
        id: `M${String(i).padStart(3, '0')}`,
        accountId: ACC,
        clientJid: JID,
        createdAt: BASE_TIME + Math.floor(i / 5) * 1_000,
        syncSource: 'history_sync',
        syncedAt: BASE_TIME + 60_000,
        pushName: 'John Doe',
        ...(i === 22
          ? {
              messageType: 'image' as const,
              mediaType: 'image',
              mediaMimetype: 'image/jpeg',
              media: { directPath: '/d', url: 'https://mmg', mediaKey: 'U0VDUkVU', fileEncSha256: null, fileSha256: null, fileLength: 10 },
              rawMessage: new Uint8Array([1, 2, 3]),
            }
          : {}),
      }),
    );
    await h.store.applyMutations(ACC, [
      { kind: 'thread', accountId: ACC, clientJid: JID, displayName: 'John Doe', source: 'contactName' },
      ...threadMessages.map((record) => ({ kind: 'message' as const, record })),
    ]);
    // 11 more threads, some sharing a lastMessageAt.
    await h.store.applyMutations(
      ACC,
      Array.from({ length: 11 }, (_, i) => ({
        kind: 'message' as const,
        record: makeMessage({
          id: `T${i}`,
          accountId: ACC,
          clientJid: `4070000000${String(i).padStart(2, '0')}@s.whatsapp.net`,
          createdAt: BASE_TIME + Math.floor(i / 3) * 500,
        }),
      })),
    );
    threadMessages.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  });

  afterAll(async () => {
    const errors = h.errors();
    await h.stop();
    expect(errors).toEqual([]);
  });

  const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

  describe('GET /api/whatsapp/threads/:accountId', () => {
    it('answers the seed shape with ISO timestamps', async () => {
      const r = await call(h.base, `/api/whatsapp/threads/${ACC}?limit=50`);
      expect(r.status).toBe(200);
      const body = r.body as { success: boolean; threads: Array<Record<string, unknown>>; count: number; nextCursor: string | null };
      expect(body.success).toBe(true);
      expect(body.count).toBe(12);
      expect(body.threads).toHaveLength(12);
      expect(body.nextCursor).toBeNull();
      const t = body.threads.find((x) => x.id === THREAD)!;
      expect(t).toBeDefined();
      expect(t.accountId).toBe(ACC);
      expect(t.clientJid).toBe(JID);
      expect(t.displayName).toBe('John Doe');
      expect(t.lastMessageAt).toBe(new Date(BASE_TIME + 4_000).toISOString());
      expect(t.lastMessagePreview).toBe('hello');
      expect(t.lastBackfillAt).toBeNull();
      // Documented extensions, also rendered as instants where they are instants.
      expect(t.lastMessageId).toBe('M022');
      expect(t.isGroup).toBe(false);
      expect(t.participants).toBeNull();
      expect(t.groupAddressingMode).toBeNull();
      expect(t.createdAt).toMatch(ISO);
      expect(t.updatedAt).toMatch(ISO);
      expect(Object.keys(t).sort()).toEqual(
        [
          'id',
          'accountId',
          'clientJid',
          'displayName',
          'lastMessageAt',
          'lastMessagePreview',
          'lastBackfillAt',
          'lastMessageId',
          'lidJid',
          'displayNameSource',
          'isGroup',
          'participants',
          'groupAddressingMode',
          'createdAt',
          'updatedAt',
        ].sort(),
      );
      // Newest first by default.
      const times = body.threads.map((x) => Date.parse(String(x.lastMessageAt)));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
    });

    it.each(['desc', 'asc'] as const)('walks every page with nextCursor (%s), no skip or repeat on equal timestamps', async (order) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `limit=5&order=${order}&orderBy=lastMessageAt${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const r = await call(h.base, `/api/whatsapp/threads/${ACC}?${q}`);
        expect(r.status).toBe(200);
        const body = r.body as { threads: Array<{ id: string }>; count: number; nextCursor: string | null };
        expect(body.count).toBe(body.threads.length);
        seen.push(...body.threads.map((t) => t.id));
        cursor = body.nextCursor;
        pages += 1;
      } while (cursor && pages < 20);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toHaveLength(12);
      const all = (await call(h.base, `/api/whatsapp/threads/${ACC}?limit=500&order=${order}`)).body as { threads: Array<{ id: string }> };
      expect(seen).toEqual(all.threads.map((t) => t.id));
    });

    it('404s an unknown account', async () => {
      const r = await call(h.base, '/api/whatsapp/threads/account_nobody');
      expect(r.status).toBe(404);
      expect(isErrorBody(r.body) && r.body.error.code).toBe('NOT_FOUND');
    });
  });

  describe('GET /api/whatsapp/messages/:accountId/:threadId', () => {
    it('answers the seed shape; rawMessage and media never leave', async () => {
      const r = await call(h.base, `/api/whatsapp/messages/${ACC}/${encodeURIComponent(THREAD)}?limit=3`);
      expect(r.status).toBe(200);
      const body = r.body as {
        success: boolean;
        thread: Record<string, unknown>;
        messages: Array<Record<string, unknown>>;
        count: number;
        nextCursor: string | null;
      };
      expect(body.success).toBe(true);
      expect(body.thread.id).toBe(THREAD);
      expect(body.thread.accountId).toBe(ACC);
      expect(body.thread.clientJid).toBe(JID);
      expect(body.thread.lastMessageAt).toBe(new Date(BASE_TIME + 4_000).toISOString());
      expect(body.count).toBe(3);
      expect(body.nextCursor).toEqual(expect.any(String));
      const m = body.messages[0]!;
      // Newest first by default: M022 (the image) has the highest (createdAt, id).
      expect(m.id).toBe('M022');
      for (const field of [
        'id',
        'accountId',
        'clientJid',
        'direction',
        'body',
        'waMessageId',
        'status',
        'messageType',
        'tsClient',
        'tsServer',
        'createdAt',
        'syncedAt',
        'syncSource',
      ]) {
        expect(m).toHaveProperty(field);
      }
      for (const field of ['mediaType', 'mediaUrl', 'mediaMimetype', 'mediaFilename', 'deliveredAt', 'readAt']) {
        expect(m).toHaveProperty(field);
      }
      expect(m.accountId).toBe(ACC);
      expect(m.clientJid).toBe(JID);
      expect(m.direction).toBe('inbound');
      expect(m.waMessageId).toBe('M022');
      expect(m.status).toBe('delivered');
      expect(m.messageType).toBe('image');
      expect(m.mediaType).toBe('image');
      expect(m.mediaMimetype).toBe('image/jpeg');
      expect(m.syncSource).toBe('history_sync');
      expect(m.tsClient).toBe(new Date(BASE_TIME + 4_000).toISOString());
      expect(m.createdAt).toBe(new Date(BASE_TIME + 4_000).toISOString());
      expect(m.tsServer).toBe(new Date(BASE_TIME + 5_000).toISOString());
      expect(m.syncedAt).toBe(new Date(BASE_TIME + 60_000).toISOString());
      expect(m.deliveredAt).toBeNull();
      expect(m).not.toHaveProperty('rawMessage');
      expect(m).not.toHaveProperty('media');
      expect(JSON.stringify(body)).not.toContain('U0VDUkVU');
    });

    it.each(['desc', 'asc'] as const)('walks every page (%s) without skipping or repeating', async (order) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `limit=4&order=${order}&orderBy=createdAt${cursor ? `&cursor=${cursor}` : ''}`;
        const r = await call(h.base, `/api/whatsapp/messages/${ACC}/${encodeURIComponent(THREAD)}?${q}`);
        expect(r.status).toBe(200);
        const body = r.body as { messages: Array<{ id: string }>; nextCursor: string | null };
        seen.push(...body.messages.map((m) => m.id));
        cursor = body.nextCursor;
        pages += 1;
      } while (cursor && pages < 20);
      const expected = threadMessages.map((m) => m.id);
      expect(seen).toEqual(order === 'asc' ? expected : [...expected].reverse());
      expect(pages).toBe(6);
    });

    it('accepts the thread id unencoded too (@ and . are legal in a path segment)', async () => {
      const r = await call(h.base, `/api/whatsapp/messages/${ACC}/${THREAD}?limit=1`);
      expect(r.status).toBe(200);
    });

    it("404s an unknown thread, an unknown account, and another account's thread", async () => {
      await h.store.createAccount({ id: 'account_prod_other' });
      for (const path of [
        `/api/whatsapp/messages/${ACC}/${encodeURIComponent(threadIdOf(ACC, '999@s.whatsapp.net'))}`,
        `/api/whatsapp/messages/account_nobody/${encodeURIComponent(THREAD)}`,
        `/api/whatsapp/messages/account_prod_other/${encodeURIComponent(THREAD)}`,
      ]) {
        const r = await call(h.base, path);
        expect(r.status, path).toBe(404);
        expect(isErrorBody(r.body) && r.body.error.code).toBe('NOT_FOUND');
      }
    });
  });

  describe('conditional requests (ETag / If-None-Match)', () => {
    const pages = [
      ['threads', `/api/whatsapp/threads/${ACC}?limit=5`],
      ['messages', `/api/whatsapp/messages/${ACC}/${encodeURIComponent(THREAD)}?limit=5`],
    ] as const;

    it.each(pages)('%s: a page carries an ETag; sending it back gets 304 without a body', async (_name, path) => {
      const first = await call(h.base, path);
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
      const again = await call(h.base, path);
      expect(again.headers.get('etag'), 'the same page has the same tag').toBe(etag);
      for (const ifNoneMatch of [etag!, `W/${etag!}`, `"other", ${etag!}`, '*']) {
        const res = await fetch(h.base + path, { headers: { ...AUTH, 'if-none-match': ifNoneMatch } });
        expect(res.status, ifNoneMatch).toBe(304);
        expect(res.headers.get('etag')).toBe(etag);
        // No body, so nothing to type or measure (RFC 9110 §15.4.5).
        expect(res.headers.get('content-type')).toBeNull();
        expect(res.headers.get('content-length')).toBeNull();
        expect(await res.text()).toBe('');
      }
      const stale = await call(h.base, path, { headers: { 'if-none-match': '"stale"' } });
      expect(stale.status).toBe(200);
      expect(stale.body).toEqual(first.body);
    });

    it.each(pages)('%s: another page, or the same page after a change, has another tag', async (name, path) => {
      const before = await call(h.base, path);
      const etag = before.headers.get('etag')!;
      const other = await call(h.base, path.replace('limit=5', 'limit=4'));
      expect(other.headers.get('etag')).not.toBe(etag);
      // A new message in the thread: the page the client holds is stale (a new top message, a new summary).
      const id = `NEW_${name}`;
      const record = makeMessage({ id, accountId: ACC, clientJid: JID, createdAt: BASE_TIME + 99_000, body: `new ${name}` });
      await h.store.applyMutations(ACC, [{ kind: 'message', record }]);
      const after = await call(h.base, path, { headers: { 'if-none-match': etag } });
      expect(after.status).toBe(200);
      expect(after.headers.get('etag')).not.toBe(etag);
    });

    it('every change the live feed announces about a page gives the page another tag', async () => {
      // The feed (issue 8) and the ETag must agree: a client that polls with If-None-Match sees the
      // change the websocket announces. Its own chat, so the steps do not depend on the tests above.
      const jid = '40799999999@s.whatsapp.net';
      const thread = threadIdOf(ACC, jid);
      const messagesPath = `/api/whatsapp/messages/${ACC}/${encodeURIComponent(thread)}?limit=50`;
      const threadsPath = `/api/whatsapp/threads/${ACC}?limit=50`;
      const out = makeMessage({ id: 'ETAG_OUT', accountId: ACC, clientJid: jid, direction: 'outbound', createdAt: BASE_TIME + 200_000 });
      const img = makeMessage({
        id: 'ETAG_IMG',
        accountId: ACC,
        clientJid: jid,
        createdAt: BASE_TIME + 201_000,
        messageType: 'image',
        mediaType: 'image',
        mediaMimetype: 'image/jpeg',
      });
      const steps: Array<[string, () => Promise<unknown>]> = [
        [
          'new messages',
          () =>
            h.store.applyMutations(
              ACC,
              [out, img].map((record) => ({ kind: 'message' as const, record })),
            ),
        ],
        [
          'a receipt',
          () =>
            h.store.applyMutations(ACC, [
              { kind: 'status', accountId: ACC, clientJid: jid, messageId: out.id, status: 'read', at: BASE_TIME + 202_000 },
            ]),
        ],
        [
          'an edit',
          () =>
            h.store.applyMutations(ACC, [
              { kind: 'edit', accountId: ACC, clientJid: jid, messageId: out.id, body: 'edited', editedAt: BASE_TIME + 203_000 },
            ]),
        ],
        [
          'the thread renamed',
          () =>
            h.store.applyMutations(ACC, [
              { kind: 'thread', accountId: ACC, clientJid: jid, displayName: 'Renamed', source: 'contactName' },
            ]),
        ],
        [
          'an archived file',
          () =>
            h.store.recordMediaArchive(ACC, img.id, jid, {
              mediaArchivedAt: BASE_TIME + 204_000,
              mediaSha256: 'c2hh',
              mediaArchiveKey: 'k/ETAG_IMG',
              mediaArchiveError: null,
            }),
        ],
        [
          'a revoke',
          () =>
            h.store.applyMutations(ACC, [
              { kind: 'revoke', accountId: ACC, clientJid: jid, messageId: out.id, revokedAt: BASE_TIME + 205_000 },
            ]),
        ],
      ];
      for (const [name, apply] of steps) {
        const head = await h.store.changeLogHead(ACC);
        const [messagesBefore, threadsBefore] = [await call(h.base, messagesPath), await call(h.base, threadsPath)];
        await apply();
        const changes = await h.store.readChanges(ACC, head, 100);
        if (changes.status !== 'ok') throw new Error(`${name}: change log ${changes.reason}`);
        const events = changes.batches.flatMap((b) => b.events);
        const aboutThread = events.filter(
          (e) =>
            ((e.type === 'message.created' || e.type === 'message.updated') && e.data.threadId === thread) ||
            (e.type === 'thread.updated' && e.data.thread.id === thread),
        );
        expect(aboutThread.length, `${name}: announced on the feed`).toBeGreaterThan(0);
        const etag = messagesBefore.headers.get('etag')!;
        const after = await call(h.base, messagesPath, { headers: { 'if-none-match': etag } });
        expect(after.status, `${name}: the message page`).toBe(200);
        expect(after.headers.get('etag'), name).not.toBe(etag);
        if (aboutThread.some((e) => e.type === 'thread.updated')) {
          const tag = threadsBefore.headers.get('etag')!;
          const threadsAfter = await call(h.base, threadsPath, { headers: { 'if-none-match': tag } });
          expect(threadsAfter.status, `${name}: the thread page`).toBe(200);
        }
      }
    });

    it('a 404 carries no ETag and If-None-Match does not turn it into a 304', async () => {
      const r = await call(h.base, '/api/whatsapp/threads/account_nobody', { headers: { 'if-none-match': '*' } });
      expect(r.status).toBe(404);
      expect(r.headers.get('etag')).toBeNull();
    });
  });

  describe('status routes', () => {
    it('GET /health is open and reports the store', async () => {
      const r = await call(h.base, '/health', { auth: false });
      expect(r.status).toBe(200);
      const body = r.body as Record<string, unknown>;
      expect(body.status).toBe('ok');
      expect(body.store).toEqual({ backend: 'sqlite', status: 'ok', latencyMs: expect.any(Number) });
      expect(body).not.toHaveProperty('firestore');
      expect(body.uptimeSeconds).toEqual(expect.any(Number));
    });

    it('GET /ready is open: ready, mode, instanceId', async () => {
      const r = await call(h.base, '/ready', { auth: false });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ ready: true, mode: 'active', instanceId: 'test-instance' });
    });

    it('GET /metrics is open and serves the exposition format', async () => {
      const r = await call(h.base, '/metrics', { auth: false });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/plain');
      expect(r.body).toContain('wasync_up 1');
      // Requests were observed under route templates, never raw paths.
      expect(h.observed.some((o) => o.route === 'GET /api/whatsapp/threads/:accountId' && o.status === 200)).toBe(true);
      expect(h.observed.every((o) => !o.route.includes(ACC))).toBe(true);
    });

    it('GET /diag needs the token and lists up to 3 connected accounts', async () => {
      expect((await call(h.base, '/diag', { auth: false })).status).toBe(401);
      for (let i = 0; i < 4; i++) {
        await h.store.createAccount({
          id: `diag_${i}`,
          lastRealtimeIngestAt: BASE_TIME + i * 1_000,
          lastRealtimeError: i === 3 ? 'boom' : null,
        });
      }
      h.accounts.runtimes.set(ACC, {
        actor: 'running',
        connection: 'qr',
        reason: null,
        restarts: 0,
        qrAvailable: true,
        pendingWrites: 0,
        me: null,
      });
      const r = await call(h.base, '/diag');
      expect(r.status).toBe(200);
      const body = r.body as { success: boolean; latestRealtime: Array<Record<string, unknown>> };
      expect(body.success).toBe(true);
      expect(body.latestRealtime).toHaveLength(3);
      expect(body.latestRealtime[0]).toEqual({
        accountId: 'diag_3',
        lastRealtimeIngestAt: new Date(BASE_TIME + 3_000).toISOString(),
        lastRealtimeMessageAt: null,
        lastRealtimeError: 'boom',
      });
      expect(body.latestRealtime.map((a) => a.accountId)).not.toContain(ACC);
      h.accounts.runtimes.delete(ACC);
    });

    it("GET /api/status/dashboard carries the seed's dashboard fields as ISO 8601", async () => {
      const r = await call(h.base, '/api/status/dashboard');
      expect(r.status).toBe(200);
      const body = r.body as { success: boolean; accounts: Array<Record<string, unknown>> };
      expect(body.success).toBe(true);
      const a = body.accounts.find((x) => x.accountId === ACC)!;
      expect(a.lastBackfillAt).toBe(new Date(BASE_TIME + 5_000).toISOString());
      expect(a.lastHistorySyncAt).toBe(new Date(BASE_TIME + 6_000).toISOString());
      expect(a.status).toBe('open');
    });
  });
});
