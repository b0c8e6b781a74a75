import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { accountLogger, createLogger, maskPhone, resolveLogFormat } from '../../src/logging/logger.js';
import { loadConfig } from '../../src/config/index.js';
import { E2E_TOKEN } from '../support/e2e.js';
import { MAIN_JS, spawnServer } from '../support/spawn-server.js';

const ACCOUNT = 'account_prod_7f3a9c2e51';
const PHONE = '40712345678';

function capture(): { stream: Writable & { write(line: string): boolean }; text(): string } {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => out };
}

/** What an actor and Baileys log: the account in bindings, phone numbers bare, with +, and in JIDs. */
function logSensitive(format: 'json' | 'pretty'): string {
  const sink = capture();
  const root = createLogger({ level: 'info', format, destination: sink.stream });
  const log = accountLogger(root, ACCOUNT);
  log.info({ phoneNumber: PHONE, to: `+${PHONE}` }, 'pairing code requested');
  log.warn(
    { key: { remoteJid: `${PHONE}@s.whatsapp.net`, participant: `${PHONE}:3@s.whatsapp.net`, id: 'ABC' }, jid: `${PHONE}@s.whatsapp.net` },
    'decrypt failed',
  );
  root.info({ accountId: ACCOUNT, account: { id: ACCOUNT }, me: { id: `${PHONE}:12@s.whatsapp.net` } }, 'opened');
  return sink.text();
}

describe('log format', () => {
  it.each(['json', 'pretty'] as const)('%s: account ids and phone numbers are masked', (format) => {
    const out = logSensitive(format);
    expect(out).not.toContain(PHONE);
    expect(out).not.toContain(ACCOUNT);
    expect(out).toContain('407…78');
    expect(out).toContain('acco…2e51');
    expect(out).toContain('decrypt failed');
  });

  it('json: one JSON object a line; pretty: level names and messages, no JSON', () => {
    const json = logSensitive('json').trim().split('\n');
    expect(json).toHaveLength(3);
    for (const line of json)
      expect(JSON.parse(line)).toMatchObject({ level: expect.any(Number), time: expect.any(String), msg: expect.any(String) });

    const pretty = logSensitive('pretty');
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(wasync\): pairing code requested$/m);
    expect(pretty).toMatch(/^\[[\d:.]+\] WARN \(wasync\): decrypt failed$/m);
    expect(pretty).not.toMatch(/^\{/m);
  });

  it('maskPhone keeps other text and short numbers', () => {
    expect(maskPhone('120363025246125888@g.us')).toBe('120…88@g.us');
    expect(maskPhone('port 8080, id 12345')).toBe('port 8080, id 12345');
    expect(maskPhone(42)).toBe(42);
  });

  it('LOG_FORMAT: auto (default), json or pretty; auto is pretty only on a terminal', () => {
    expect(loadConfig({}).LOG_FORMAT).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).LOG_FORMAT).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'text' })).toThrow(/LOG_FORMAT: expected one of auto, json, pretty, got "text"/);
    expect(resolveLogFormat('json')).toBe('json');
    expect(resolveLogFormat('pretty')).toBe('pretty');
    // fd 0 of the test runner is not a terminal (vitest's forks get a pipe or /dev/null).
    expect(resolveLogFormat('auto', 0)).toBe('json');
  });
});

/**
 * The real entry point, with an actor thread that logs (the demo account's history sync), under a
 * pseudo-terminal (`script`) and on a pipe.
 */
describe('log format of the running server', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function env(extra: Record<string, string>): Record<string, string | undefined> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-logs-'));
    dirs.push(dataDir);
    return {
      ...process.env,
      LOG_FORMAT: undefined,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      WA_CONNECTOR: 'sim',
      WA_DEMO: 'true',
      WA_SIM_CHATS: '2',
      WA_SIM_MESSAGES_PER_CHAT: '5',
      API_TOKEN: E2E_TOKEN,
      LOG_LEVEL: 'info',
      AUTO_BACKFILL_ENABLED: 'false',
      RECENT_SYNC_ENABLED: 'false',
      ...extra,
    };
  }

  async function run(e: Record<string, string | undefined>, command?: string[]): Promise<string> {
    const server = await spawnServer({ env: e, ...(command ? { command } : {}) });
    const deadline = Date.now() + 20_000;
    while (!/History sync complete/.test(server.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (command) {
      // `script` answers SIGTERM by killing its child: signal the server itself, as systemd would.
      const pid = Number(readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8').trim().split(' ')[0]);
      process.kill(pid, 'SIGTERM');
    }
    const { code } = await server.stop(command ? null : 'SIGTERM');
    expect(code).toBe(0);
    return server.output();
  }

  it('auto on a terminal: pretty lines from the main thread and the actor threads', async () => {
    // util-linux `script` runs the command on a new pseudo-terminal and copies its output here.
    const out = await run(env({}), ['script', '-qfec', `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN_JS)}`, '/dev/null']);
    expect(out).toMatch(/INFO.*\(wasync\).*wasync listening/);
    expect(out).toMatch(/INFO.*\(wasync-actor\).*History sync complete/);
    expect(out).toContain('shutdown complete');
    expect(out).not.toMatch(/^\{"level"/m);
    expect(out).not.toContain('"demo"');
  });

  it('auto on a pipe: JSON lines, the actor threads included', async () => {
    const out = await run(env({}));
    const lines = out.split('\n').filter((l) => l.startsWith('{'));
    const parsed = lines.map((l) => JSON.parse(l) as { name: string; msg: string; accountId?: string });
    expect(parsed.some((l) => l.name === 'wasync' && l.msg === 'wasync listening')).toBe(true);
    const actor = parsed.find((l) => l.name === 'wasync-actor' && /History sync complete/.test(l.msg));
    expect(actor?.accountId).toBe('de…');
    expect(parsed.at(-1)?.msg).toBe('shutdown complete');
  });

  it('LOG_FORMAT=pretty on a pipe: pretty, without colours', async () => {
    const out = await run(env({ LOG_FORMAT: 'pretty' }));
    expect(out).toMatch(/^\[[\d:.]+\] INFO \(wasync-actor\): History sync complete/m);
    expect(out).toMatch(/^\[[\d:.]+\] INFO \(wasync\): shutdown complete$/m);
    expect(out).not.toContain('\x1b['); // no ANSI colour codes
    expect(out).not.toMatch(/^\{/m);
  });
});
