import { backoffDelay } from '../../domain/backoff.js';
import { intFlag, stringFlag, type CommandContext, type CommandSpec } from '../command.js';
import { CliError, EXIT, type ExitCode } from '../errors.js';
import { oneLine } from '../output.js';

/** A frame of the feed as the CLI reads it (README, "Live events"). */
interface Frame {
  type: string;
  accountId?: string;
  cursor?: string;
  event?: string;
  committedAt?: string;
  data?: Record<string, unknown>;
  code?: string;
  message?: string;
  reason?: string;
}

/** One line per event for people: time, account, event, what it is about. */
function describe(f: Frame): string {
  const d = f.data ?? {};
  const time = typeof f.committedAt === 'string' ? f.committedAt.slice(11, 19) : '--:--:--';
  let what = '';
  switch (f.event) {
    case 'message.created':
    case 'message.updated': {
      const arrow = d.direction === 'outbound' ? '→' : '←';
      const changes = Array.isArray(d.changes) ? ` [${d.changes.join(',')}]` : '';
      what = `${arrow} ${String(d.clientJid ?? '')} ${String(d.status ?? '')}${changes}: ${oneLine(d.body, 120)}`;
      break;
    }
    case 'thread.updated':
      what =
        `${String(d.id ?? '')} ${d.mergedFrom ? `(merged from ${String(d.mergedFrom)}) ` : ''}` +
        `${oneLine(d.displayName ?? '', 40)}: ${oneLine(d.lastMessagePreview, 80)}`;
      break;
    case 'account.updated':
      what = Object.entries(d)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
      break;
    default:
      what = oneLine(JSON.stringify(d), 160);
  }
  return `${time}  ${f.accountId ?? '-'}  ${f.event ?? f.type}  ${what}`;
}

export const feedCommands: readonly CommandSpec[] = [
  {
    path: ['tail'],
    args: [{ name: 'ACCOUNT', optional: true }],
    summary: 'Follow the live event feed (websocket) of an account, or of every account ("*", the default); reconnects and resumes.',
    options: {
      after: {
        type: 'string',
        value: 'CURSOR',
        description: 'Replay the events after this cursor first (a cursor an earlier tail printed).',
      },
      limit: { type: 'string', value: 'N', description: 'Exit after N events.' },
    },
    async run(ctx) {
      const accountId = ctx.args.ACCOUNT ?? '*';
      const limit = intFlag(ctx, 'limit', 1, 1_000_000_000);
      return tail(ctx, accountId, stringFlag(ctx, 'after') ?? null, limit);
    },
  },
];

/**
 * The websocket client (the `ws` package: Node 20 has no WebSocket of its own). On a dropped
 * connection it reconnects with backoff and resumes from the last cursor it printed, so a restart of
 * the server shows as a pause, not as a gap. The cursor of the last event goes to stderr on exit, for
 * `--after`.
 */
async function tail(ctx: CommandContext, accountId: string, after: string | null, limit: number | undefined): Promise<ExitCode> {
  const { default: WebSocket } = await import('ws');
  const base = ctx.api.url.replace(/^http/, 'ws');
  const authorization = ctx.api.authorization();
  let cursor = after;
  let printed = 0;
  let attempt = 0;
  let everOpened = false;
  for (;;) {
    const outcome = await new Promise<{ kind: 'done' } | { kind: 'closed'; why: string } | { kind: 'fatal'; error: CliError }>(
      (resolve) => {
        const ws = new WebSocket(`${base}/api/whatsapp/ws`, { headers: { authorization } });
        let settled = false;
        const finish = (o: Parameters<typeof resolve>[0]) => {
          if (settled) return;
          settled = true;
          resolve(o);
        };
        ws.on('unexpected-response', (_req, res) => {
          const status = res.statusCode ?? 0;
          res.resume();
          if (status === 401) finish({ kind: 'fatal', error: new CliError(EXIT.AUTH, 'UNAUTHORIZED: the server refused the token') });
          else finish({ kind: 'closed', why: `HTTP ${status}` });
          ws.terminate();
        });
        ws.on('error', (err) => finish({ kind: 'closed', why: err.message }));
        ws.on('open', () => {
          attempt = 0;
          everOpened = true;
          ws.send(JSON.stringify({ type: 'subscribe', accountId, ...(cursor ? { after: cursor } : {}) }));
        });
        ws.on('close', (code) => finish({ kind: 'closed', why: `closed (${code})` }));
        ws.on('message', (raw) => {
          if (limit !== undefined && printed >= limit) return;
          const f = JSON.parse(raw.toString()) as Frame;
          if (f.type === 'event') {
            cursor = f.cursor ?? cursor;
            if (ctx.json) ctx.out.jsonLine(f);
            else ctx.out.print(describe(f));
            printed++;
            if (limit !== undefined && printed >= limit) {
              ws.close(1000);
              finish({ kind: 'done' });
            }
          } else if (f.type === 'subscribed' || f.type === 'live') {
            cursor ??= f.cursor ?? null;
            if (f.type === 'live') ctx.out.note(`wasync: live (${accountId})`);
          } else if (f.type === 'resync-required') {
            ws.close(1000);
            finish({
              kind: 'fatal',
              error: new CliError(EXIT.FAILED, `resync required (${f.reason ?? '?'}): ${f.message ?? ''} (run tail again without --after)`),
            });
          } else if (f.type === 'error') {
            const code = f.code === 'NOT_FOUND' ? EXIT.NOT_FOUND : f.code === 'BAD_CURSOR' ? EXIT.USAGE : EXIT.FAILED;
            ws.close(1000);
            finish({ kind: 'fatal', error: new CliError(code, `${f.code ?? 'ERROR'}: ${f.message ?? ''}`) });
          }
        });
      },
    );
    if (outcome.kind === 'done') {
      if (cursor) ctx.out.note(`cursor: ${cursor}`);
      return EXIT.OK;
    }
    if (outcome.kind === 'fatal') throw outcome.error;
    // Never connected: the server is not there (exit 5, like every command). Once connected, a
    // drop is a restart or a network blip: reconnect for as long as it takes.
    if (!everOpened) throw new CliError(EXIT.UNAVAILABLE, `cannot reach the feed at ${base}: ${outcome.why}`);
    attempt++;
    const wait = backoffDelay(attempt, { baseMs: 250, maxMs: 10_000 });
    ctx.out.note(`wasync: feed ${outcome.why}; reconnecting in ${wait} ms${cursor ? ' from the last cursor' : ''}`);
    await ctx.sleep(wait);
  }
}
