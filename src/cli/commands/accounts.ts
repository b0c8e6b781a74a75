import type { ApiAccount } from '../api-types.js';
import { arg, seg, type CommandSpec } from '../command.js';
import { renderFields, renderTable, when } from '../output.js';

const ACCOUNTS = '/api/whatsapp/accounts';

export const accountCommands: readonly CommandSpec[] = [
  {
    path: ['accounts'],
    args: [],
    summary: 'List the accounts with their live connection state.',
    async run(ctx) {
      const res = await ctx.api.request<{ accounts: ApiAccount[]; count: number }>('GET', ACCOUNTS);
      if (ctx.json) return ctx.out.json(res);
      if (res.accounts.length === 0) return ctx.out.note('no accounts yet: wasync accounts add');
      const rows = res.accounts.map((a) => [
        a.id,
        a.runtime.connection,
        a.runtime.actor,
        a.phoneNumber ?? '-',
        when(a.lastConnectedAt),
        String(a.historySyncCount ?? 0),
        when(a.lastRealtimeMessageAt),
      ]);
      ctx.out.print(
        renderTable(['ID', 'STATUS', 'ACTOR', 'PHONE', 'LAST CONNECTED', 'HISTORY SYNCS', 'LAST REALTIME MESSAGE'], rows, ctx.out.columns),
      );
    },
  },
  {
    path: ['accounts', 'add'],
    args: [{ name: 'ID', optional: true }],
    summary: 'Create an account (id generated unless given) and start pairing it.',
    async run(ctx) {
      const id = ctx.args.ID;
      const res = await ctx.api.request<{ account: ApiAccount }>('POST', ACCOUNTS, { body: id === undefined ? {} : { accountId: id } });
      if (ctx.json) return ctx.out.json(res);
      ctx.out.print(res.account.id);
      ctx.out.note(
        `created ${res.account.id} (${res.account.runtime.connection}); ` +
          `pair it: wasync qr ${res.account.id}  or  wasync pair ${res.account.id} --phone NUMBER`,
      );
    },
  },
  {
    path: ['accounts', 'show'],
    args: [{ name: 'ID' }],
    summary: 'One account: connection, sync and backfill state.',
    async run(ctx) {
      const res = await ctx.api.request<{ account: ApiAccount }>('GET', `${ACCOUNTS}/${seg(arg(ctx, 'ID'))}`);
      if (ctx.json) return ctx.out.json(res);
      const a = res.account;
      const result = a.lastBackfillResult;
      ctx.out.print(
        renderFields([
          ['id', a.id],
          ['connection', a.runtime.connection + (a.runtime.reason ? ` (${a.runtime.reason})` : '')],
          ['actor', `${a.runtime.actor}, ${a.runtime.restarts} restarts`],
          ['phone', a.phoneNumber ?? '-'],
          ['last connected', when(a.lastConnectedAt)],
          ['history syncs', `${a.historySyncCount ?? 0}, last ${when(a.lastHistorySyncAt)}`],
          ['history sync', historySyncLine(a)],
          [
            'last backfill',
            `${when(a.lastBackfillAt)}${result ? `: ${result.threads} threads, ${result.messages} messages, ${result.errors} errors` : ''}`,
          ],
          ['auto backfill', a.lastAutoBackfillStatus ?? '-'],
          ['last realtime message', when(a.lastRealtimeMessageAt)],
        ]),
      );
    },
  },
  {
    path: ['accounts', 'rm'],
    args: [{ name: 'ID' }],
    summary: 'Stop an account and log its session out; --purge also deletes its threads and messages.',
    options: { purge: { type: 'boolean', description: "Delete the account's threads and messages too (cannot be undone)." } },
    async run(ctx) {
      const id = arg(ctx, 'ID');
      const purge = ctx.flags.purge === true;
      const res = await ctx.api.request<{ accountId: string; purged: boolean }>('DELETE', `${ACCOUNTS}/${seg(id)}?purge=${purge}`);
      if (ctx.json) return ctx.out.json(res);
      ctx.out.note(`removed ${id}${res.purged ? '; its threads and messages were deleted' : ''}`);
    },
  },
];

/** `running, RECENT 40 %, FULL -, 1200 messages saved, STALLED` */
function historySyncLine(a: ApiAccount): string {
  if (!a.historySyncStatus) return '-';
  const pct = (v: number | null | undefined) => (v == null ? '-' : `${v} %`);
  const progress = a.historySyncProgress;
  const parts = [a.historySyncStatus, `RECENT ${pct(progress?.RECENT)}`, `FULL ${pct(progress?.FULL)}`];
  parts.push(`${a.historySyncMessagesSaved ?? 0} messages saved`);
  if (a.historySyncStalled) parts.push('STALLED');
  return parts.join(', ');
}
