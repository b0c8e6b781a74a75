import type { ApiAccount, ApiMessage, ApiThread, Page } from '../api-types.js';
import { arg, intFlag, seg, stringFlag, type CommandContext, type CommandSpec } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { oneLine, renderTable, when } from '../output.js';

const PAGE_OPTIONS = {
  limit: { type: 'string', value: 'N', description: 'Page size, 1-500 (default 50).' },
  cursor: { type: 'string', value: 'CURSOR', description: 'The page after the one that printed this cursor.' },
  order: { type: 'string', value: 'desc|asc', description: 'Newest first (default) or oldest first.' },
} as const;

function pageQuery(ctx: CommandContext): string {
  const q = new URLSearchParams();
  const limit = intFlag(ctx, 'limit', 1, 500);
  if (limit !== undefined) q.set('limit', String(limit));
  const cursor = stringFlag(ctx, 'cursor');
  if (cursor !== undefined) q.set('cursor', cursor);
  const order = stringFlag(ctx, 'order');
  if (order !== undefined && order !== 'asc' && order !== 'desc') throw new UsageError(`--order: expected asc or desc, got "${order}"`);
  if (order !== undefined) q.set('order', order);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function nextPageNote(ctx: CommandContext, page: Page): void {
  if (page.nextCursor) ctx.out.note(`more: add --cursor ${page.nextCursor}`);
}

export const messagingCommands: readonly CommandSpec[] = [
  {
    path: ['send'],
    args: [{ name: 'ACCOUNT' }, { name: 'TO' }, { name: 'TEXT', rest: true }],
    summary: 'Send a text message (TO: phone number or JID; TEXT "-" reads standard input).',
    options: {
      id: { type: 'string', value: 'MESSAGE_ID', description: 'Your own message id: retrying with the same id never sends twice.' },
    },
    async run(ctx) {
      const raw = arg(ctx, 'TEXT');
      // Like the shell's $(…): the newline(s) that end piped text are not part of the message.
      const text = raw === '-' ? (await ctx.readStdin()).replace(/\n+$/, '') : raw;
      if (text.trim() === '') throw new UsageError('TEXT is empty');
      const messageId = stringFlag(ctx, 'id');
      const res = await ctx.api.request<{ messageId: string; threadId: string; status: string }>('POST', '/api/whatsapp/send', {
        body: { accountId: arg(ctx, 'ACCOUNT'), to: arg(ctx, 'TO'), text, ...(messageId === undefined ? {} : { messageId }) },
      });
      if (ctx.json) return ctx.out.json(res);
      ctx.out.print(res.messageId);
      ctx.out.note(`${res.status} in thread ${res.threadId}`);
    },
  },
  {
    path: ['backfill'],
    args: [{ name: 'ACCOUNT' }],
    summary: 'Ask the phone for older history of the recent threads (runs in the background).',
    options: {
      wait: { type: 'boolean', description: 'Wait for it to finish and print its result.' },
      timeout: { type: 'string', value: 'SECONDS', description: 'With --wait: give up after this long (default 300; 0 = never).' },
    },
    async run(ctx) {
      const id = arg(ctx, 'ACCOUNT');
      const accountPath = `/api/whatsapp/accounts/${seg(id)}`;
      const wait = ctx.flags.wait === true;
      const timeoutMs = (intFlag(ctx, 'timeout', 0, 86_400) ?? 300) * 1000;
      const before = wait ? ((await ctx.api.request<{ account: ApiAccount }>('GET', accountPath)).account.lastBackfillAt ?? null) : null;
      const res = await ctx.api.request<{ message: string; accountId: string }>('POST', `/api/whatsapp/backfill/${seg(id)}`);
      if (!wait) return ctx.json ? ctx.out.json(res) : ctx.out.note(res.message);
      const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
      for (;;) {
        const { account } = await ctx.api.request<{ account: ApiAccount }>('GET', accountPath);
        if ((account.lastBackfillAt ?? null) !== before && account.lastBackfillResult) {
          const r = account.lastBackfillResult;
          if (ctx.json) return ctx.out.json({ accountId: id, lastBackfillAt: account.lastBackfillAt, lastBackfillResult: r });
          ctx.out.print(`backfill of ${id} done: ${r.threads} threads, ${r.messages} messages, ${r.errors} errors`);
          return r.errors > 0 ? EXIT.FAILED : EXIT.OK;
        }
        if (Date.now() >= deadline)
          throw new CliError(EXIT.TIMEOUT, `the backfill of ${id} has not finished after ${timeoutMs / 1000} s (it goes on in the server)`);
        await ctx.sleep(500);
      }
    },
  },
  {
    path: ['threads'],
    args: [{ name: 'ACCOUNT' }],
    summary: "The account's threads, most recent first.",
    options: PAGE_OPTIONS,
    async run(ctx) {
      const res = await ctx.api.request<Page & { threads: ApiThread[] }>(
        'GET',
        `/api/whatsapp/threads/${seg(arg(ctx, 'ACCOUNT'))}${pageQuery(ctx)}`,
      );
      if (ctx.json) return ctx.out.json(res);
      const rows = res.threads.map((t) => [t.id, oneLine(t.displayName, 40) || '-', when(t.lastMessageAt), oneLine(t.lastMessagePreview)]);
      ctx.out.print(renderTable(['THREAD', 'NAME', 'LAST MESSAGE', 'PREVIEW'], rows, ctx.out.columns));
      nextPageNote(ctx, res);
    },
  },
  {
    path: ['messages'],
    args: [{ name: 'ACCOUNT' }, { name: 'THREAD' }],
    summary: 'Messages of a thread (THREAD as `threads` prints it), newest first.',
    options: PAGE_OPTIONS,
    async run(ctx) {
      const route = `/api/whatsapp/messages/${seg(arg(ctx, 'ACCOUNT'))}/${seg(arg(ctx, 'THREAD'))}${pageQuery(ctx)}`;
      const res = await ctx.api.request<Page & { messages: ApiMessage[] }>('GET', route);
      if (ctx.json) return ctx.out.json(res);
      const rows = res.messages.map((m) => [
        when(m.createdAt),
        m.direction === 'inbound' ? 'in' : 'out',
        m.status,
        m.messageType,
        m.id,
        oneLine(m.body) || `(${m.messageType})`,
      ]);
      ctx.out.print(renderTable(['TIME', 'DIR', 'STATUS', 'TYPE', 'ID', 'BODY'], rows, ctx.out.columns));
      nextPageNote(ctx, res);
    },
  },
];
