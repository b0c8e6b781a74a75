import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadIdOf, type MessageRecord } from '../../src/domain/records.js';
import type { Mutation } from '../../src/domain/mutations.js';
import { CSV_COLUMNS } from '../../src/http/export-format.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { BASE_TIME, makeMessage } from '../support/records.js';
import { spawnServer, type SpawnedServer } from '../support/spawn-server.js';
import { waitFor } from '../support/e2e.js';

/**
 * The export endpoint against a real server process (SQLite, simulated phone) holding an account of
 * 100,000 messages written straight into its store. Memory is read from the server's own /metrics
 * (prom-client's process and heap gauges) while clients read: a slow one, one that goes away.
 */

const TOKEN = 'export-test-token-0123456789';
const ACCOUNT = 'big';
const THREADS = 200;
const PER_THREAD = 500;
const TOTAL = THREADS * PER_THREAD;

const jid = (t: number) => `4070${String(t).padStart(7, '0')}@s.whatsapp.net`;
/** Bodies that exercise CSV quoting and JSON escaping; the rest are ~120 characters of text. */
const TRICKY = ['comma, inside', 'a "quoted" word', 'two\nlines', 'crlf\r\nend', '', ' padded ', 'ünïcödé ✓ 🚀', '=SUM(A1:A2)'];
function bodyOf(t: number, i: number): string {
  const n = t * PER_THREAD + i;
  return n % 97 === 0 ? TRICKY[(n / 97) % TRICKY.length]! : `message ${n} of thread ${t}: ${'lorem ipsum dolor sit amet '.repeat(4)}`;
}
function messageOf(t: number, i: number): MessageRecord {
  return makeMessage({
    id: `M${t}-${i}`,
    accountId: ACCOUNT,
    clientJid: jid(t),
    body: bodyOf(t, i),
    // Runs of equal times, so keyset pages split inside them.
    createdAt: BASE_TIME + Math.floor(i / 3) * 60_000,
    direction: i % 2 ? 'outbound' : 'inbound',
    syncSource: i % 5 === 0 ? 'history_sync' : 'realtime',
  });
}

describe('GET /api/whatsapp/export/:accountId (100,000 messages, real server)', () => {
  let dataDir: string;
  let server: SpawnedServer;
  let base: URL;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-export-'));
    const store = openSqliteStore({ file: path.join(dataDir, 'wasync.db') });
    await store.init();
    await store.createAccount({ id: ACCOUNT, status: 'created', createdAt: BASE_TIME, updatedAt: BASE_TIME });
    await store.createAccount({ id: 'empty', status: 'created', createdAt: BASE_TIME, updatedAt: BASE_TIME });
    for (let t = 0; t < THREADS; t += 10) {
      const batch: Mutation[] = [];
      for (let tt = t; tt < t + 10; tt++) for (let i = 0; i < PER_THREAD; i++) batch.push({ kind: 'message', record: messageOf(tt, i) });
      await store.applyMutations(ACCOUNT, batch);
    }
    // Another account's messages in the same file: never part of this export.
    await store.applyMutations('other', [
      { kind: 'message', record: makeMessage({ id: 'foreign', accountId: 'other', clientJid: jid(1) }) },
    ]);
    expect(await store.countMessages(ACCOUNT)).toBe(TOTAL);
    await store.close();

    server = await spawnServer({
      env: {
        ...process.env,
        API_TOKEN: TOKEN,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        WA_CONNECTOR: 'sim',
        WA_SIM_CHATS: '0',
        WA_SIM_RATE: '0',
        AUTO_BACKFILL_ENABLED: 'false',
        RECENT_SYNC_ENABLED: 'false',
      },
    });
    base = new URL(server.url);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const auth = { authorization: `Bearer ${TOKEN}` };
  const url = (query: string, account = ACCOUNT) => new URL(`/api/whatsapp/export/${encodeURIComponent(account)}${query}`, base);

  async function metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(new URL('/metrics', base))).text();
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]));
    }
    return out;
  }
  const heapUsed = async () => (await metrics()).get('wasync_nodejs_heap_size_used_bytes')!;
  const rss = async () => (await metrics()).get('wasync_process_resident_memory_bytes')!;
  const exportRows = async (format: string) => (await metrics()).get(`wasync_export_rows_total{format="${format}"}`) ?? 0;
  const exportsEnded = async (format: string, result: string) =>
    (await metrics()).get(`wasync_exports_total{format="${format}",result="${result}"}`) ?? 0;

  it('JSON Lines: every message exactly once, in the API shape plus threadId, thread by thread', async () => {
    const started = performance.now();
    const res = await fetch(url('?format=jsonl'), { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="wasync-big-\d{8}T\d{6}Z\.jsonl"$/);
    const text = await res.text();
    const seconds = (performance.now() - started) / 1000;
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(TOTAL);
    const seen = new Set<string>();
    let previous = '';
    for (const line of lines) {
      const row = JSON.parse(line) as Record<string, unknown>;
      const key = `${row.threadId as string}\u0000${String(row.createdAt)}\u0000${String(row.id)}`;
      expect(seen.has(row.id as string)).toBe(false);
      seen.add(row.id as string);
      if (previous !== '') expect(key > previous).toBe(true);
      previous = key;
    }
    expect(seen.size).toBe(TOTAL);
    // The exact shape of the REST API's messages, plus threadId.
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    const api = (await (
      await fetch(new URL(`/api/whatsapp/messages/${ACCOUNT}/${encodeURIComponent(first.threadId as string)}?order=asc&limit=1`, base), {
        headers: auth,
      })
    ).json()) as { messages: Array<Record<string, unknown>> };
    expect(first).toEqual({ threadId: first.threadId, ...api.messages[0] });
    expect(Object.keys(first).sort()).toEqual([...CSV_COLUMNS].sort());
    console.log(
      `export: ${TOTAL} rows of JSON Lines (${(text.length / 1e6).toFixed(1)} MB) in ${seconds.toFixed(2)} s: ` +
        `${Math.round(TOTAL / seconds)} rows/s`,
    );
  }, 120_000);

  it('CSV: a header row, RFC 4180 quoting, the same rows (the 40 % of them from an instant on)', async () => {
    // Messages i ≥ 300 of each thread: createdAt ≥ BASE_TIME + 100 minutes.
    const since = BASE_TIME + 100 * 60_000;
    const res = await fetch(url(`?format=csv&since=${since}`), { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(res.headers.get('content-disposition')).toMatch(/filename="wasync-big-\d{8}T\d{6}Z\.csv"$/);
    const records = parseCsv(await res.text());
    expect(records[0]).toEqual([...CSV_COLUMNS]);
    const expected = THREADS * (PER_THREAD - 300);
    expect(records).toHaveLength(expected + 1);
    const col = (name: string) => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
    const byId = new Map(records.slice(1).map((r) => [r[col('id')]!, r]));
    expect(byId.size).toBe(expected);
    for (let t = 0; t < THREADS; t += 37) {
      for (let i = 300; i < PER_THREAD; i += 41) {
        const m = messageOf(t, i);
        const r = byId.get(m.id)!;
        expect(r[col('threadId')]).toBe(threadIdOf(ACCOUNT, m.clientJid));
        expect(r[col('body')]).toBe(m.body);
        expect(r[col('createdAt')]).toBe(new Date(m.createdAt).toISOString());
        expect(r[col('fromMe')]).toBe(String(m.fromMe));
        expect(r[col('readAt')]).toBe(''); // null
      }
    }
    // Every tricky body comes back intact (quotes, commas, CR/LF, empty, spaces, emoji, a formula).
    const bodies = new Set(records.slice(1).map((r) => r[col('body')]));
    for (const tricky of TRICKY) expect(bodies.has(tricky)).toBe(true);
  }, 120_000);

  it('threadId and since narrow the export; both together too', async () => {
    const thread = threadIdOf(ACCOUNT, jid(42));
    const one = (await (await fetch(url(`?threadId=${encodeURIComponent(thread)}`), { headers: auth })).text()).trim().split('\n');
    expect(one).toHaveLength(PER_THREAD);
    expect(new Set(one.map((l) => (JSON.parse(l) as { threadId: string }).threadId))).toEqual(new Set([thread]));

    // Messages i ≥ 300 of each thread: createdAt ≥ BASE_TIME + 100 minutes.
    const since = new Date(BASE_TIME + 100 * 60_000).toISOString();
    const recent = (await (await fetch(url(`?since=${since}`), { headers: auth })).text()).trim().split('\n');
    expect(recent).toHaveLength(THREADS * (PER_THREAD - 300));
    const both = (await (await fetch(url(`?threadId=${encodeURIComponent(thread)}&since=${since}`), { headers: auth })).text()).trim();
    expect(both.split('\n')).toHaveLength(PER_THREAD - 300);
    // An account without messages: an empty body (CSV: the header alone).
    expect(await (await fetch(url('', 'empty'), { headers: auth })).text()).toBe('');
    expect(await (await fetch(url('?format=csv', 'empty'), { headers: auth })).text()).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
  }, 60_000);

  it('answers 404 for an unknown account or thread, 400 for bad parameters, 401 without the token', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['', 'nobody', 404, 'NOT_FOUND'],
      [`?threadId=${encodeURIComponent(threadIdOf('other', jid(1)))}`, ACCOUNT, 404, 'NOT_FOUND'],
      [`?threadId=${encodeURIComponent(threadIdOf(ACCOUNT, '1@s.whatsapp.net'))}`, ACCOUNT, 404, 'NOT_FOUND'],
      ['?format=xml', ACCOUNT, 400, 'BAD_REQUEST'],
      ['?format=csv&format=jsonl', ACCOUNT, 400, 'BAD_REQUEST'],
      ['?since=yesterday', ACCOUNT, 400, 'BAD_REQUEST'],
      ['?since=2026-13-45', ACCOUNT, 400, 'BAD_REQUEST'],
      ['?since=-5', ACCOUNT, 400, 'BAD_REQUEST'],
      ['?threadId=', ACCOUNT, 400, 'BAD_REQUEST'],
      ['?threadId=..%2Fx', ACCOUNT, 400, 'BAD_REQUEST'],
    ];
    for (const [query, account, status, code] of cases) {
      const res = await fetch(url(query, account), { headers: auth });
      expect({ query, account, status: res.status }).toEqual({ query, account, status });
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect((await fetch(url(''))).status).toBe(401);
    expect((await fetch(url(''), { method: 'POST', headers: auth })).status).toBe(405);
  });

  it('memory stays flat while a slow client reads the whole account', async () => {
    // Settle the heap first: the baseline is what an idle server holds.
    for (let i = 0; i < 3; i++) await fetch(url('?since=2100-01-01'), { headers: auth }).then((r) => r.text());
    const heap0 = await heapUsed();
    const rss0 = await rss();
    const rowsBefore = await exportRows('jsonl');
    const samples: Array<{ heap: number; rss: number }> = [];
    let bytes = 0;
    let lines = 0;
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url('?format=jsonl'), { headers: auth }, (res) => {
        expect(res.statusCode).toBe(200);
        // Slow for the first 6 s: a pause after every chunk (the socket's buffers fill, uWS reports
        // backpressure, the export stops reading); then at full speed to the end.
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          for (const b of chunk) if (b === 10) lines++;
          if (performance.now() - started < 6_000) {
            res.pause();
            setTimeout(() => res.resume(), 25);
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      const sampler = setInterval(() => {
        void Promise.all([heapUsed(), rss()]).then(([heap, r]) => samples.push({ heap, rss: r }));
      }, 250);
      req.on('close', () => clearInterval(sampler));
    });
    expect(lines).toBe(TOTAL);
    expect((await exportRows('jsonl')) - rowsBefore).toBe(TOTAL);
    const heapGrowth = Math.max(...samples.map((s) => s.heap)) - heap0;
    const rssGrowth = Math.max(...samples.map((s) => s.rss)) - rss0;
    console.log(
      `export memory: ${samples.length} samples while a slow client read ${(bytes / 1e6).toFixed(1)} MB; ` +
        `heap growth ${(heapGrowth / 1e6).toFixed(1)} MB, RSS growth ${(rssGrowth / 1e6).toFixed(1)} MB; ` +
        `heap MB: ${samples.map((s) => Math.round((s.heap - heap0) / 1e6)).join(' ')}`,
    );
    expect(samples.length).toBeGreaterThan(10);
    // The whole account as records or as text would be well over 100 MB: a bounded stream holds a
    // few pages (about 0.5 MB each) plus garbage not yet collected.
    expect(heapGrowth).toBeLessThan(40e6);
    expect(rssGrowth).toBeLessThan(80e6);
  }, 120_000);

  it('a client that goes away mid-stream stops the read', async () => {
    const rowsBefore = await exportRows('csv');
    const abortedBefore = await exportsEnded('csv', 'aborted');
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url('?format=csv'), { headers: auth }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > 2e6) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
    });
    await waitFor('the export to be counted as aborted', async () =>
      (await exportsEnded('csv', 'aborted')) > abortedBefore ? true : undefined,
    );
    const rowsAtAbort = (await exportRows('csv')) - rowsBefore;
    await new Promise((r) => setTimeout(r, 1000));
    const rowsLater = (await exportRows('csv')) - rowsBefore;
    expect(rowsLater).toBe(rowsAtAbort);
    // About 2 MB read plus what the socket buffers held: far from the whole account.
    expect(rowsAtAbort).toBeLessThan(TOTAL / 4);
    expect(server.output()).toMatch(/"msg":"export stopped: the client went away"/);
  }, 60_000);
});

/** RFC 4180: fields separated by commas, records by CRLF, quoted fields with doubled quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      quoted = true;
      i++;
    } else if (c === ',') {
      record.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== '' || record.length > 0) throw new Error('CSV does not end with CRLF');
  return records;
}
