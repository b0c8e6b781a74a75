#!/usr/bin/env node
// A minimal client of wasync's live event feed (README, "Live events"), written the way a browser
// would do it: get a single-use ticket with the API token (on your server, not in the browser), open
// the websocket with ?ticket=, subscribe, print events, remember the last cursor, and on a dropped
// connection reconnect with a new ticket and resume from that cursor: nothing is missed.
//
//   npm run demo                              # in one terminal
//   npm run tail                              # in another: every account ("*")
//   npm run tail -- demo --json               # one account, raw frames
//   node examples/feed-client.mjs demo --limit 10
//
// Settings: WASYNC_URL (default http://127.0.0.1:8080), WASYNC_TOKEN or API_TOKEN (else the file
// ./data/api-token the server wrote), WASYNC_CURSOR_FILE (default .feed-cursor: where the last cursor
// is kept between runs; delete it to start from "now").
import { readFileSync, writeFileSync, rmSync } from 'node:fs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const account = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--limit') ?? '*';
const limit = option('limit') ? Number(option('limit')) : Infinity;
const json = flag('json');

const base = (process.env.WASYNC_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const token = process.env.WASYNC_TOKEN ?? process.env.API_TOKEN ?? readFileSync('data/api-token', 'utf8').trim();
const cursorFile = process.env.WASYNC_CURSOR_FILE ?? '.feed-cursor';

// Node 22 has a WebSocket like browsers'; Node 20 uses the `ws` package (a dependency of wasync).
const WebSocketImpl = globalThis.WebSocket ?? (await import('ws')).default;

const readCursor = () => {
  try {
    const saved = JSON.parse(readFileSync(cursorFile, 'utf8'));
    return saved.account === account ? saved.cursor : null;
  } catch {
    return null;
  }
};
const saveCursor = (cursor) => writeFileSync(cursorFile, JSON.stringify({ account, cursor }));

async function ticket() {
  const res = await fetch(`${base}/api/whatsapp/ws-ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  if (res.status === 401) throw new Error('the server refused the token');
  if (!res.ok) throw new Error(`ws-ticket: HTTP ${res.status}`);
  return (await res.json()).ticket;
}

function describe(f) {
  const d = f.data ?? {};
  const time = (f.committedAt ?? '').slice(11, 19);
  if (f.event === 'message.created' || f.event === 'message.updated') {
    const arrow = d.direction === 'outbound' ? '→' : '←';
    return `${time} ${f.accountId} ${f.event} ${arrow} ${d.clientJid} ${d.status}: ${String(d.body ?? '').slice(0, 80)}`;
  }
  if (f.event === 'thread.updated') {
    return `${time} ${f.accountId} ${f.event} ${d.id}${d.mergedFrom ? ` (merged from ${d.mergedFrom})` : ''}`;
  }
  return `${time} ${f.accountId} ${f.event} ${JSON.stringify(d).slice(0, 120)}`;
}

let printed = 0;
let attempt = 0;
for (;;) {
  const outcome = await new Promise((resolve) => {
    ticket().then(
      (t) => {
        const ws = new WebSocketImpl(`${base.replace(/^http/, 'ws')}/api/whatsapp/ws?ticket=${encodeURIComponent(t)}`);
        ws.onopen = () => {
          attempt = 0;
          const after = readCursor();
          ws.send(JSON.stringify({ type: 'subscribe', accountId: account, ...(after ? { after } : {}) }));
        };
        ws.onmessage = (message) => {
          if (printed >= limit) return;
          const f = JSON.parse(typeof message.data === 'string' ? message.data : message.data.toString());
          if (f.type === 'event') {
            console.log(json ? JSON.stringify(f) : describe(f));
            saveCursor(f.cursor);
            if (++printed >= limit) {
              ws.close(1000);
              resolve('done');
            }
          } else if (f.type === 'subscribed' && !readCursor()) {
            saveCursor(f.cursor);
          } else if (f.type === 'live') {
            console.error(`-- live (${account})`);
          } else if (f.type === 'resync-required') {
            // The cursor is older than the server keeps: re-read what you need through the REST API,
            // then follow from now.
            console.error(`-- resync required (${f.reason}): starting from now`);
            rmSync(cursorFile, { force: true });
            ws.close(1000);
          } else if (f.type === 'error') {
            console.error(`-- error ${f.code}: ${f.message}`);
            if (f.code === 'NOT_FOUND' || f.code === 'BAD_CURSOR') {
              ws.close(1000);
              resolve('fatal');
            }
          }
        };
        ws.onclose = (e) => resolve(`closed (${e.code})`);
        ws.onerror = () => undefined;
      },
      (err) => resolve(`no ticket: ${err.message}`),
    );
  });
  if (outcome === 'done') process.exit(0);
  if (outcome === 'fatal') process.exit(1);
  const wait = Math.min(10_000, 250 * 2 ** attempt++) * (0.5 + Math.random() / 2);
  console.error(`-- ${outcome}; reconnecting in ${Math.round(wait)} ms`);
  await new Promise((r) => setTimeout(r, wait));
}
