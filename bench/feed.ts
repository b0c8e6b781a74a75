import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Mutation } from '../src/domain/mutations.js';
import { FeedHub } from '../src/feed/hub.js';
import { batchEnd } from '../src/feed/position.js';
import { WebhookClient } from '../src/feed/webhooks/client.js';
import { DEFAULT_WEBHOOK_SETTINGS, WebhookDispatcher } from '../src/feed/webhooks/dispatcher.js';
import { signatureHeader } from '../src/feed/webhooks/signature.js';
import { NEW_WEBHOOK_STATE } from '../src/store/webhooks.js';
import { renderEventFrame, renderWebhookBody } from '../src/http/feed-wire.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { generateHistory } from '../src/connectors/sim/history-generator.js';
import { countStoredMessages, startBenchServer } from './bench-server.js';
import { mapHistory } from './pipeline.js';

/**
 * The live feed's figures (docs/benchmarks.md, "Live events"):
 *
 * 1. Event → websocket client latency while the simulated phone streams 1,000 messages a second into
 *    one account: the real server in its own process (uWS, actor thread, SQLite), the clients in
 *    another; 1 client, then 100, against the same server.
 * 2. Webhook deliveries per second to a local receiver: the dispatcher (hub, per-endpoint worker,
 *    signing, the SSRF-guarded HTTP client) against a bare loop of the same signed POSTs, one at a
 *    time, with the same client: the ratio is what the dispatcher adds to the HTTP round trip.
 */

const TOKEN = 'bench-token-feed-0123456789';

export interface LatencyRun {
  clients: number;
  framesPerClientPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  closedEarly: number;
  /** Messages the server stored per second meanwhile (it kept up with the phone). */
  storedPerSec: number;
}

export interface FeedBenchResult {
  latency: LatencyRun[];
  webhooks: {
    events: number;
    bare: number;
    oneEndpoint: number;
    fourEndpoints: number;
    ratio: number;
  };
}

function startServer(dataDir: string, rate: number): Promise<{ child: ChildProcess; url: string }> {
  const entry = new URL('./api-server.js', import.meta.url).pathname;
  return startBenchServer({ entry, engine: 'uws', dataDir, token: TOKEN, rate, messagesPerChat: 20, readPoolThreads: 0 });
}

function runClients(url: string, clients: number, warmupMs: number, measureMs: number): Promise<Omit<LatencyRun, 'storedPerSec'>> {
  const entry = new URL('./feed-clients.js', import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, url, TOKEN, 'demo', String(clients), String(warmupMs), String(measureMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Omit<LatencyRun, 'storedPerSec'>) : reject(new Error(`clients exited ${code}`)),
    );
  });
}

async function benchLatency(opts: {
  rate: number;
  clients: readonly number[];
  warmupMs: number;
  measureMs: number;
}): Promise<LatencyRun[]> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-feed-bench-'));
  const { child, url } = await startServer(dataDir, opts.rate);
  try {
    for (let i = 0; i < 100 && countStoredMessages(dataDir) < 1000; i++) await new Promise((r) => setTimeout(r, 100));
    const runs: LatencyRun[] = [];
    for (const clients of opts.clients) {
      const before = countStoredMessages(dataDir);
      const started = Date.now();
      const r = await runClients(url, clients, opts.warmupMs, opts.measureMs);
      runs.push({ ...r, storedPerSec: (countStoredMessages(dataDir) - before) / ((Date.now() - started) / 1000) });
    }
    return runs;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function benchWebhooks(messages: number): Promise<FeedBenchResult['webhooks']> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-webhook-bench-'));
  const store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
  await store.init();
  await store.createAccount({ id: 'bench' });
  const { chunks } = generateHistory({ chats: 20, messagesPerChat: Math.ceil(messages / 20), seed: 'webhooks' });
  const { records } = mapHistory('bench', chunks);
  const slice = records.slice(0, messages);
  for (let i = 0; i < slice.length; i += 100) {
    await store.applyMutations(
      'bench',
      slice.slice(i, i + 100).map((record): Mutation => ({ kind: 'message', record })),
    );
  }
  let received = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const logger = pino({ level: 'silent' });
  const hub = new FeedHub({ store, logger, render: renderEventFrame });
  await hub.start();
  const client = new WebhookClient({ allowPrivate: true, connectTimeoutMs: 5000, timeoutMs: 10_000 });
  const events = slice.length;
  try {
    // Baseline: the same signed bodies, POSTed one after another with the same client.
    const page = await store.readChanges('bench', 0, 1000);
    const bodies =
      page.status === 'ok'
        ? page.batches.flatMap((b) => b.events.filter((e) => e.type === 'message.created').map((e) => JSON.stringify(e)))
        : [];
    received = 0;
    let started = performance.now();
    for (const body of bodies) {
      const ts = Math.floor(Date.now() / 1000);
      await client.post(hookUrl, body, {
        'content-type': 'application/json',
        'wasync-signature': signatureHeader('whsec_bench_0123456789', ts, body),
      });
    }
    const bare = bodies.length / ((performance.now() - started) / 1000);

    const run = async (endpoints: number): Promise<number> => {
      received = 0;
      const dispatcher = new WebhookDispatcher({
        store,
        hub,
        post: (u, b, h, s) => client.post(u, b, h, s),
        holder: `bench-${endpoints}`,
        logger,
        render: renderWebhookBody,
        settings: { ...DEFAULT_WEBHOOK_SETTINGS, maxAttempts: 3, maxAgeMs: 60_000, retryBaseMs: 100, retryMaxMs: 1000 },
      });
      for (let i = 0; i < endpoints; i++) {
        await store.createWebhook({
          id: `wh_bench_${endpoints}_${i}`,
          url: `${hookUrl}/${i}`,
          accountId: 'bench',
          events: ['message.created'],
          secret: 'whsec_bench_0123456789',
          description: null,
          source: 'api',
          createdAt: Date.now(),
          updatedAt: Date.now(),
          ...NEW_WEBHOOK_STATE,
          cursor: { bench: batchEnd(0) },
        });
      }
      started = performance.now();
      dispatcher.start();
      while (received < events * endpoints) await new Promise((r) => setTimeout(r, 5));
      const rate = received / ((performance.now() - started) / 1000);
      await dispatcher.stop();
      for (let i = 0; i < endpoints; i++) await store.deleteWebhook(`wh_bench_${endpoints}_${i}`);
      return rate;
    };
    const oneEndpoint = await run(1);
    const fourEndpoints = await run(4);
    return { events, bare, oneEndpoint, fourEndpoints, ratio: oneEndpoint / bare };
  } finally {
    hub.stop();
    client.close();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchFeed(opts: {
  rate: number;
  clients: readonly number[];
  warmupMs: number;
  measureMs: number;
  webhookEvents: number;
}): Promise<FeedBenchResult> {
  const latency = await benchLatency(opts);
  const webhooks = await benchWebhooks(opts.webhookEvents);
  return { latency, webhooks };
}
