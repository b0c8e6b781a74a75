import WebSocket from 'ws';

/**
 * The latency benchmark's load: N websocket clients of the feed in a process of their own (so that
 * their parsing does not run on the server's event loop), all subscribed to one account. For every
 * event frame it records `receive time − committedAt` (the store's clock at the commit, same machine).
 * `node dist/bench/feed-clients.js <url> <token> <account> <clients> <warmupMs> <measureMs>`; prints one
 * JSON line of results.
 */

const [url, token, account, clientsArg, warmupArg, measureArg] = process.argv.slice(2) as [string, string, string, string, string, string];
const clients = Number(clientsArg);
const warmupMs = Number(warmupArg);
const measureMs = Number(measureArg);

const latencies = new Float64Array(8_000_000);
let n = 0;
let measuring = false;
let frames = 0;
let closedEarly = 0;
const KEY = '"committedAt":"';

function onFrame(data: WebSocket.RawData): void {
  if (!measuring) return;
  frames++;
  const text = data.toString();
  const at = text.indexOf(KEY);
  if (at < 0 || n >= latencies.length) return;
  const committed = Date.parse(text.slice(at + KEY.length, at + KEY.length + 24));
  latencies[n++] = Date.now() - committed;
}

const sockets: WebSocket[] = [];
await Promise.all(
  Array.from(
    { length: clients },
    () =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/whatsapp/ws`, { headers: { authorization: `Bearer ${token}` } });
        ws.on('open', () => {
          ws.send(JSON.stringify({ type: 'subscribe', accountId: account }));
          resolve();
        });
        ws.on('message', onFrame);
        ws.on('close', () => {
          if (measuring) closedEarly++;
        });
        ws.on('error', reject);
        sockets.push(ws);
      }),
  ),
);
await new Promise((r) => setTimeout(r, warmupMs));
measuring = true;
const started = Date.now();
await new Promise((r) => setTimeout(r, measureMs));
measuring = false;
const seconds = (Date.now() - started) / 1000;
const sorted = latencies.subarray(0, n).sort();
const pct = (p: number) => (n === 0 ? Number.NaN : sorted[Math.min(n - 1, Math.floor((p / 100) * n))]!);
const result = { clients, frames, framesPerClientPerSec: frames / clients / seconds, closedEarly };
process.stdout.write(`${JSON.stringify({ ...result, p50: pct(50), p90: pct(90), p99: pct(99), max: pct(100) })}\n`);
for (const ws of sockets) ws.terminate();
process.exit(0);
