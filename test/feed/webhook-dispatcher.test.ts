import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mutation } from '../../src/domain/mutations.js';
import { FeedHub } from '../../src/feed/hub.js';
import { WebhookAdmin } from '../../src/feed/webhooks/admin.js';
import { WebhookClient } from '../../src/feed/webhooks/client.js';
import { DEFAULT_WEBHOOK_SETTINGS, WebhookDispatcher } from '../../src/feed/webhooks/dispatcher.js';
import { renderEventFrame, renderWebhookBody } from '../../src/http/feed-wire.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { waitFor } from '../support/e2e.js';
import { makeMessage } from '../support/records.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Two instances on one store (two connections to one SQLite file, each with its own hub and
 * dispatcher): an endpoint is dispatched by exactly one of them at a time, and when that one stops,
 * the other takes the lease over and goes on from the stored cursor: every event delivered.
 */

const logger = pino({ level: 'silent' });
let dir: string;
let receiver: WebhookReceiver;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasync-dispatch-'));
  receiver = await WebhookReceiver.start();
});
afterAll(async () => {
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function instance(name: string) {
  const store = openSqliteStore({ file: join(dir, 'wasync.db') });
  await store.init();
  const hub = new FeedHub({ store, logger, render: renderEventFrame, pollMs: 50 });
  await hub.start();
  const client = new WebhookClient({ allowPrivate: true, connectTimeoutMs: 1000, timeoutMs: 2000 });
  const dispatcher = new WebhookDispatcher({
    store,
    hub,
    post: (u, b, h, s) => client.post(u, b, h, s),
    holder: name,
    logger,
    render: renderWebhookBody,
    settings: {
      ...DEFAULT_WEBHOOK_SETTINGS,
      leaseMs: 1500,
      refreshMs: 200,
      maxAttempts: 5,
      maxAgeMs: 60_000,
      retryBaseMs: 50,
      retryMaxMs: 200,
    },
  });
  dispatcher.start();
  return {
    store,
    hub,
    dispatcher,
    async stop() {
      await dispatcher.stop();
      hub.stop();
      client.close();
      await store.close();
    },
  };
}

let n = 0;
const write = (store: SqliteStore, count: number) =>
  store.applyMutations(
    'acc',
    Array.from({ length: count }, (): Mutation => ({ kind: 'message', record: makeMessage({ id: `W${++n}`, accountId: 'acc' }) })),
  );

describe('webhook dispatch across instances', () => {
  it('one instance at a time dispatches an endpoint; the other takes over from the stored cursor', async () => {
    const a = await instance('instance-a');
    const b = await instance('instance-b');
    await a.store.createAccount({ id: 'acc' });
    const admin = new WebhookAdmin({ store: a.store, hub: a.hub, dispatcher: null, allowPrivate: true });
    const hook = await admin.create({ url: receiver.url, accountId: 'acc', events: ['message.created'] });
    for (let i = 0; i < 5; i++) await write(i % 2 ? a.store : b.store, 4);
    await waitFor('the first deliveries', async () => (receiver.delivered.length >= 20 ? true : undefined));
    const holders = [a, b].filter((x) => x.dispatcher.active.includes(hook.id));
    expect(holders).toHaveLength(1);
    const [active, other] = holders[0] === a ? [a, b] : [b, a];
    // The holder goes away; the other instance's refresh finds the lease free and takes over.
    await active.stop();
    for (let i = 0; i < 5; i++) await write(other.store, 4);
    await waitFor('the rest, through the other instance', async () => (receiver.delivered.length >= 40 ? true : undefined), 15_000);
    expect(other.dispatcher.active).toEqual([hook.id]);
    const ids = receiver.delivered.map((r) => r.eventId);
    expect(new Set(ids).size).toBe(40);
    // In log order: positions only increase.
    const positions = receiver.delivered.map((r) => JSON.parse(Buffer.from(r.body.cursor.slice(1), 'base64url').toString())[4] as number);
    expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
    await other.stop();
  });
});
