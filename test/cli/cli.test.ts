import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { spawnServer, type SpawnedServer } from '../support/spawn-server.js';
import { waitFor } from '../support/e2e.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The `wasync` command as a person runs it: its own process, against a real server (another process,
 * simulated phones, SQLite in a temp dir) on a free port. The token comes from the file the server
 * generated, as on a real box.
 */
describe('wasync CLI against a running server', () => {
  let server: SpawnedServer;
  let dataDir: string;
  let work: string;
  let env: Record<string, string | undefined>;

  function cli(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string; timeoutMs?: number } = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: work,
        env: (opts.env ?? env) as NodeJS.ProcessEnv,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`wasync ${args.join(' ')} did not exit:\n${stdout}\n${stderr}`));
      }, opts.timeoutMs ?? 30_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(opts.stdin ?? '');
    });
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-cli-data-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'wasync-cli-cwd-'));
    server = await spawnServer({
      env: {
        ...process.env,
        API_TOKEN: undefined,
        LOG_FORMAT: 'json',
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        WA_CONNECTOR: 'sim',
        WA_SIM_CHATS: '4',
        WA_SIM_MESSAGES_PER_CHAT: '10',
        WA_SIM_RATE: '20',
        // Every phone keeps its QR up 5 s, a new one every 400 ms: `qr` has something to redraw, and a
        // CLI process booting on a loaded machine (seconds at a load average of 30) still finds a QR.
        WA_SIM_PAIR_MS: '5000',
        WA_SIM_QR_MS: '400',
        LOG_LEVEL: 'warn',
        AUTO_BACKFILL_ENABLED: 'false',
        RECENT_SYNC_ENABLED: 'false',
      },
    });
    // The CLI's environment: where the server keeps its token, where it listens. Nothing else.
    env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, WASYNC_URL: server.url };
  });

  afterAll(async () => {
    await server?.stop('SIGTERM');
    for (const d of [dataDir, work]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('accounts: none yet, then add with and without an id; a second add of one id is a conflict', async () => {
    const empty = await cli(['accounts']);
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    expect(empty.stderr).toMatch(/no accounts yet/);

    const added = await cli(['accounts', 'add', 'cli-main']);
    expect(added.code).toBe(0);
    expect(added.stdout).toBe('cli-main\n');
    expect(added.stderr).toMatch(/wasync qr cli-main/);

    const generated = await cli(['accounts', 'add', '--json']);
    expect(generated.code).toBe(0);
    const body = JSON.parse(generated.stdout) as { success: boolean; account: { id: string } };
    expect(body.success).toBe(true);
    expect(body.account.id).toMatch(/^account_prod_/);

    const again = await cli(['accounts', 'add', 'cli-main']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^wasync: CONFLICT: /);
  });

  it('qr: draws each rotated QR until the account opens, and exits 0', async () => {
    // Its own account, added over HTTP right before: the phone pairs WA_SIM_PAIR_MS after the account
    // connects, so only the `qr` process's boot may come in between (not the first test's three CLI
    // runs, which on a loaded machine took longer than that: cli-main was open before any QR).
    const token = readFileSync(path.join(dataDir, 'api-token'), 'utf8').trim();
    const added = await fetch(`${server.url}/api/whatsapp/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: 'cli-qr' }),
    });
    expect(added.status).toBe(201);
    const run = await cli(['qr', 'cli-qr', '--interval', '100']);
    expect(run.code, run.stderr).toBe(0);
    const captions = run.stdout.match(/^QR \d+ for cli-qr/gm) ?? [];
    expect(captions.length).toBeGreaterThanOrEqual(2);
    expect(run.stdout).toMatch(/[▀▄█]/);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('cli-qr is open');
    // Not a terminal: nothing to clear.
    expect(run.stdout).not.toContain('\x1b[2J');
  });

  it('qr --json: one line per rotated QR, the same QR the server shows, then open', async () => {
    expect((await cli(['accounts', 'add', 'cli-json'])).code).toBe(0);
    const run = await cli(['qr', 'cli-json', '--json', '--interval', '100']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { accountId: string; connection: string; qr: string | null });
    const qrs = lines.flatMap((l) => (l.qr ? [l.qr] : []));
    expect(new Set(qrs).size).toBeGreaterThanOrEqual(2);
    for (const qr of qrs) expect(qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#2@/);
    expect(lines.at(-1)).toEqual({ accountId: 'cli-json', connection: 'open', qr: null });
    // What the human mode draws is that QR: the terminal renderer of the same payload.
    const art = await QRCode.toString(qrs[0]!, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
    expect(art).toMatch(/[▀▄█]/);
  });

  it('qr on an open account returns at once; on an unknown one exits 3; --timeout exits 6', async () => {
    const open = await cli(['qr', 'cli-main']);
    expect(open).toMatchObject({ code: 0, stdout: 'cli-main is open\n' });
    const missing = await cli(['qr', 'nobody']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
    expect((await cli(['accounts', 'add', 'cli-slow'])).code).toBe(0);
    const slow = await cli(['qr', 'cli-slow', '--timeout', '0', '--interval', '100', '--json'], { timeoutMs: 10_000 });
    expect(slow.code).toBe(0); // 0 = no limit: it waits until open
    expect((await cli(['accounts', 'add', 'cli-slower'])).code).toBe(0);
    const timedOut = await cli(['qr', 'cli-slower', '--timeout', '1', '--interval', '100', '--json']);
    expect(timedOut.code).toBe(6);
    // Whichever state before open the account is in: on a loaded machine its worker may not have started yet.
    expect(timedOut.stderr).toMatch(/still (created|connecting|qr) after 1 s/);
  });

  it('pair: prints the pairing code, then --wait until open', async () => {
    expect((await cli(['accounts', 'add', 'cli-pair'])).code).toBe(0);
    const run = await cli(['pair', 'cli-pair', '--phone', '+40 712 345 678', '--wait', '--interval', '100']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^[1-9A-Z]{4}-[1-9A-Z]{4}\n$/);
    expect(run.stderr).toMatch(/Link with phone number instead/);
    expect(run.stderr).toMatch(/cli-pair is open/);
    const already = await cli(['pair', 'cli-pair', '--phone', '40712345678']);
    expect(already).toMatchObject({ code: 0, stdout: '' });
    expect(already.stderr).toMatch(/cli-pair is already open: nothing to pair/);
    expect((await cli(['accounts', 'add', 'cli-pair-2'])).code).toBe(0);
    const bad = await cli(['pair', 'cli-pair-2', '--phone', '12']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/BAD_REQUEST: phoneNumber must be 6-15 digits/);
    const missing = await cli(['pair', 'cli-pair']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing --phone NUMBER/);
  });

  it('accounts lists them with their state; accounts show one', async () => {
    const run = await cli(['accounts']);
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trim().split('\n');
    expect(header).toMatch(/^ID\s+STATUS\s+ACTOR\s+PHONE\s+LAST CONNECTED\s+HISTORY SYNCS\s+LAST REALTIME MESSAGE$/);
    expect(rows.find((r) => r.startsWith('cli-main '))).toMatch(/^cli-main\s+open\s+running\s+\d+/);
    const json = JSON.parse((await cli(['accounts', '--json'])).stdout) as { count: number; accounts: Array<{ id: string }> };
    expect(json.accounts.map((a) => a.id)).toContain('cli-main');
    const show = await cli(['accounts', 'show', 'cli-main']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^id:\s+cli-main$/m);
    expect(show.stdout).toMatch(/^connection:\s+open$/m);
  });

  it('threads and messages: tables, pages, JSON', async () => {
    const page = await waitFor('the history', async () => {
      const r = await cli(['threads', 'cli-main', '--json']);
      const j = JSON.parse(r.stdout) as { count: number; threads: Array<{ id: string }> };
      return j.count >= 4 ? j : undefined;
    });
    const table = await cli(['threads', 'cli-main', '--limit', '2']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^THREAD\s+NAME\s+LAST MESSAGE\s+PREVIEW$/);
    expect(rows).toHaveLength(2);
    expect(table.stderr).toMatch(/^more: add --cursor \S+$/m);
    const cursor = /--cursor (\S+)/.exec(table.stderr)![1]!;
    const next = await cli(['threads', 'cli-main', '--limit', '2', '--cursor', cursor, '--json']);
    // Live messages keep moving threads to the top, above the cursor: the next page holds older
    // threads only (maybe none by now), never one of the first page's.
    expect(next.code, next.stderr).toBe(0);
    const firstIds = rows.map((r) => r.split(/\s+/)[0]);
    const nextIds = (JSON.parse(next.stdout) as { threads: Array<{ id: string }> }).threads.map((t) => t.id);
    for (const id of nextIds) expect(firstIds).not.toContain(id);

    const thread = page.threads[0]!.id;
    // Oldest first, a thread's history is fixed (live messages land at the other end): pages are exact.
    const six = (
      JSON.parse((await cli(['messages', 'cli-main', thread, '--limit', '6', '--order', 'asc', '--json'])).stdout) as {
        messages: Array<{ id: string }>;
      }
    ).messages.map((m) => m.id);
    const firstPage = await cli(['messages', 'cli-main', thread, '--limit', '3', '--order', 'asc', '--json']);
    const { nextCursor } = JSON.parse(firstPage.stdout) as { nextCursor: string };
    const secondPage = await cli(['messages', 'cli-main', thread, '--limit', '3', '--order', 'asc', '--cursor', nextCursor, '--json']);
    expect((JSON.parse(secondPage.stdout) as { messages: Array<{ id: string }> }).messages.map((m) => m.id)).toEqual(six.slice(3, 6));
    const messages = await cli(['messages', 'cli-main', thread, '--limit', '3', '--order', 'asc']);
    expect(messages.code, messages.stderr).toBe(0);
    const lines = messages.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+DIR\s+STATUS\s+TYPE\s+ID\s+BODY$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+(in|out)\s+\w+\s+\w+\s+\S+/);
  });

  it('send: from arguments and from stdin; the message is then listed', async () => {
    const run = await cli(['send', 'cli-main', '40700000001', 'hello', 'from', 'the', 'cli', '--id', 'CLI-MSG-1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('CLI-MSG-1\n');
    expect(run.stderr).toMatch(/^queued in thread cli-main__40700000001@s\.whatsapp\.net$/m);
    const piped = await cli(['send', 'cli-main', '40700000001', '-', '--json'], { stdin: 'line one\nline two\n' });
    expect(piped.code).toBe(0);
    const sent = JSON.parse(piped.stdout) as { messageId: string };
    const listed = await waitFor('both messages', async () => {
      const r = await cli(['messages', 'cli-main', 'cli-main__40700000001@s.whatsapp.net', '--json']);
      const j = JSON.parse(r.stdout) as { messages: Array<{ id: string; body: string; direction: string }> };
      return j.messages.length >= 2 ? j.messages : undefined;
    });
    expect(listed.find((m) => m.id === 'CLI-MSG-1')).toMatchObject({ body: 'hello from the cli', direction: 'outbound' });
    expect(listed.find((m) => m.id === sent.messageId)?.body).toBe('line one\nline two');
    const table = await cli(['messages', 'cli-main', 'cli-main__40700000001@s.whatsapp.net']);
    expect(table.stdout).toMatch(/out\s+\w+\s+text\s+CLI-MSG-1\s+hello from the cli$/m);
    expect(table.stdout).toContain('line one ⏎ line two');
  });

  it('tail: live events as JSON lines or one line each, resuming from the cursor it printed', async () => {
    const run = await cli(['tail', 'cli-main', '--json', '--limit', '5']);
    expect(run.code, run.stderr).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; id: string; accountId: string; event: string; cursor: string });
    expect(events).toHaveLength(5);
    expect(events.every((e) => e.type === 'event' && e.accountId === 'cli-main')).toBe(true);
    const cursor = /cursor: (\S+)/.exec(run.stderr)?.[1];
    expect(cursor).toBe(events.at(-1)!.cursor);
    const resumed = await cli(['tail', 'cli-main', '--json', '--limit', '3', '--after', cursor!]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const next = resumed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string });
    expect(next.some((e) => events.some((x) => x.id === e.id))).toBe(false);
    const text = await cli(['tail', '--limit', '2']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.trim().split('\n')).toHaveLength(2);
    expect(text.stdout).toMatch(/^\d\d:\d\d:\d\d {2}\S+ {2}[a-z.-]+ /m);
  });

  it('backfill: starts one; --wait prints its result', async () => {
    const started = await cli(['backfill', 'cli-main']);
    expect(started).toMatchObject({ code: 0, stdout: '' });
    expect(started.stderr).toMatch(/Backfill started/);
    const waited = await cli(['backfill', 'cli-main', '--wait']);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toMatch(/^backfill of cli-main done: \d+ threads, \d+ messages, 0 errors$/m);
  });

  it('ready: exit 0; finds the server from PORT alone when WASYNC_URL is unset', async () => {
    const port = new URL(server.url).port;
    const run = await cli(['ready'], { env: { PATH: process.env.PATH, PORT: port } });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ready: active, instance \S+$/m);
  });

  it('backup: a consistent copy of the live SQLite file while messages keep arriving', async () => {
    const dest = path.join(work, 'backup.db');
    const run = await cli(['backup', dest]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^backup:\s+.*backup\.db$/m);
    expect(existsSync(`${dest}.partial`)).toBe(false);
    const copy = new Database(dest, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
      const n = (copy.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
      expect(n).toBeGreaterThan(40);
      expect(run.stdout).toContain(`, ${n}\n`);
      expect((copy.prepare('SELECT COUNT(*) AS n FROM accounts').get() as { n: number }).n).toBeGreaterThanOrEqual(5);
    } finally {
      copy.close();
    }
    const exists = await cli(['backup', dest]);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toMatch(/exists \(--force replaces it\)/);
    const forced = await cli(['backup', dest, '--force', '--json']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ file: dest, schemaVersion: expect.any(Number), messages: expect.any(Number) });
    const nowhere = await cli(['backup', path.join(work, 'x.db')], { env: { ...env, DATA_DIR: path.join(work, 'none') } });
    expect(nowhere.code).toBe(3);
  });

  it('export: the account as JSON Lines to a file, CSV to stdout, one thread, since; errors', async () => {
    const threads = JSON.parse((await cli(['threads', 'cli-main', '--json', '--limit', '500'])).stdout) as {
      threads: Array<{ id: string }>;
    };
    const thread = threads.threads[0]!.id;
    const listed = async () =>
      (
        JSON.parse((await cli(['messages', 'cli-main', thread, '--json', '--limit', '500'])).stdout) as { messages: Array<{ id: string }> }
      ).messages.map((m) => m.id);
    const before = await listed();

    const file = path.join(work, 'cli-main.jsonl');
    const run = await cli(['export', 'cli-main', '-o', 'cli-main.jsonl']);
    expect(run.code, run.stderr).toBe(0);
    const rows = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; threadId: string; accountId: string });
    expect(run.stdout).toMatch(
      new RegExp(`^export: +${file.replaceAll('.', '\\.')}\\nof: +cli-main\\nwrote: +${rows.length} messages, \\d+ bytes, jsonl`),
    );
    expect(existsSync(`${file}.partial`)).toBe(false);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(rows.every((r) => r.accountId === 'cli-main')).toBe(true);
    // Live messages keep arriving: the export holds at least what was listed before it.
    const exportedOfThread = rows.filter((r) => r.threadId === thread).map((r) => r.id);
    for (const id of before) expect(exportedOfThread).toContain(id);

    const again = await cli(['export', 'cli-main', '-o', 'cli-main.jsonl']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists \(--force replaces it\)/);

    const csv = await cli(['export', 'cli-main', '--format', 'csv', '--thread', thread]);
    expect(csv.code, csv.stderr).toBe(0);
    const [header, ...records] = csv.stdout.split('\r\n').filter((l) => l !== '');
    expect(header).toMatch(/^threadId,id,accountId,clientJid,direction,/);
    expect(records.every((r) => r.startsWith(`${thread},`))).toBe(true);
    expect(csv.stderr).toMatch(new RegExp(`^exported ${records.length} messages, \\d+ bytes, csv`));
    const csvIds = new Set(records.map((r) => r.split(',')[1]));
    expect(csvIds.size).toBe(records.length);
    for (const id of before) expect(csvIds.has(id)).toBe(true);

    const future = await cli(['export', 'cli-main', '--since', '2100-01-01T00:00:00Z', '-o', 'none.csv']);
    expect(future.code, future.stderr).toBe(0);
    expect(readFileSync(path.join(work, 'none.csv'), 'utf8')).toBe(`${header}\r\n`);

    const missing = await cli(['export', 'nobody']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/NOT_FOUND: account nobody not found/);
    const bad = await cli(['export', 'cli-main', '--since', 'yesterday', '-o', 'bad.jsonl']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/BAD_REQUEST: since must be/);
    expect(existsSync(path.join(work, 'bad.jsonl'))).toBe(false);
  });

  it('accounts rm --purge: gone, then not found', async () => {
    const run = await cli(['accounts', 'rm', 'cli-json', '--purge']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/removed cli-json; its threads and messages were deleted/);
    const gone = await cli(['accounts', 'show', 'cli-json']);
    expect(gone.code).toBe(3);
  });

  it('errors: usage (2), token (4), unreachable (5), with one clear line', async () => {
    const cases: Array<[string[], Record<string, string | undefined> | undefined, number, RegExp]> = [
      [['frobnicate'], undefined, 2, /unknown command "frobnicate"/],
      [['tail', 'nobody'], undefined, 3, /NOT_FOUND: account nobody not found/],
      [['tail', 'cli-main', '--after', 'junk'], undefined, 2, /BAD_CURSOR: malformed cursor/],
      [['tail', 'cli-main', '--token', 'wrong'], undefined, 4, /UNAUTHORIZED/],
      [['tail', '--url', 'http://127.0.0.1:1'], undefined, 5, /cannot reach the feed/],
      [['export', 'cli-main', '--format', 'xml'], undefined, 2, /--format: expected jsonl or csv, got "xml"/],
      [['messages', 'cli-main'], undefined, 2, /missing THREAD\nusage: wasync messages ACCOUNT THREAD/],
      [['accounts', 'rm'], undefined, 2, /missing ID/],
      [['threads', 'cli-main', '--limit', '0'], undefined, 2, /--limit: expected an integer from 1 to 500, got "0"/],
      [['threads', 'cli-main', '--bogus'], undefined, 2, /Unknown option '--bogus'/],
      [['accounts', '--url', 'ftp://x'], undefined, 2, /--url: expected http or https/],
      [['accounts', '--token', 'wrong'], undefined, 4, /UNAUTHORIZED: .*wrong token\?/],
      [['accounts'], { ...env, WASYNC_TOKEN: 'wrong-too' }, 4, /UNAUTHORIZED/],
      [['accounts'], { ...env, DATA_DIR: '/nonexistent/wasync' }, 4, /no API token: \/nonexistent\/wasync\/api-token does not exist/],
    ];
    for (const [args, e, code, message] of cases) {
      const run = await cli(args, e ? { env: e } : {});
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(code);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
    const closed = await freePort();
    const down = await cli(['accounts', '--url', `http://127.0.0.1:${closed}`]);
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(new RegExp(`cannot reach wasync at http://127.0.0.1:${closed}: connection refused`));
  });

  it('help: the command list, per-command options, the version', async () => {
    const all = await cli(['--help']);
    expect(all.code).toBe(0);
    for (const c of [
      'accounts add [ID]',
      'accounts rm ID',
      'qr ACCOUNT',
      'pair ACCOUNT --phone NUMBER',
      'send ACCOUNT TO TEXT…',
      'backfill ACCOUNT',
      'threads ACCOUNT',
      'messages ACCOUNT THREAD',
      'backup DEST',
    ]) {
      expect(all.stdout).toContain(`  ${c} `);
    }
    const one = await cli(['accounts', 'rm', '--help']);
    expect(one.stdout).toMatch(/^usage: wasync accounts rm ID \[options\]/);
    expect(one.stdout).toMatch(/--purge\s+Delete the account's threads and messages too/);
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    const version = await cli(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
      bin: Record<string, string>;
    };
    expect(version.stdout).toBe(`${pkg.version}\n`);
    expect(pkg.bin.wasync).toBe('dist/src/cli/main.js');
  });
});
