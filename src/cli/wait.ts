import type { ConnectionStatus } from '../domain/records.js';
import { GIVE_UP_STATES, type ApiAccount, type QrAnswer } from './api-types.js';
import { seg, type CommandContext } from './command.js';
import { CliError, EXIT } from './errors.js';

export interface WaitOptions {
  /** The states that end the wait (default: `open`). */
  until?: ReadonlySet<ConnectionStatus>;
  /** 0: no limit. */
  timeoutMs: number;
  intervalMs: number;
  /** Called on the first answer and whenever the QR or the connection state changes. */
  onChange?(answer: QrAnswer): void;
}

const OPEN: ReadonlySet<ConnectionStatus> = new Set(['open']);

/**
 * Polls the account's QR route (it carries the live connection state too) until the account is
 * `open` (or another state of `until`). States that need a person (logged out, replaced…) end the
 * wait with the account's reason.
 */
export async function waitUntilOpen(ctx: CommandContext, accountId: string, opts: WaitOptions): Promise<QrAnswer> {
  const until = opts.until ?? OPEN;
  const deadline = opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
  let last: QrAnswer | undefined;
  for (;;) {
    const answer = await ctx.api.request<QrAnswer>('GET', `/api/whatsapp/accounts/${seg(accountId)}/qr`);
    if (!last || last.qr !== answer.qr || last.connection !== answer.connection) opts.onChange?.(answer);
    last = answer;
    if (until.has(answer.connection)) return answer;
    if (GIVE_UP_STATES.has(answer.connection)) {
      const { account } = await ctx.api.request<{ account: ApiAccount }>('GET', `/api/whatsapp/accounts/${seg(accountId)}`);
      const reason = account.runtime.reason ?? account.statusReason;
      const hint =
        answer.connection === 'logged_out' || answer.connection === 'stopped' ? `; pair it again with: wasync qr ${accountId} --new` : '';
      throw new CliError(EXIT.FAILED, `account ${accountId} is ${answer.connection}${reason ? ` (${reason})` : ''}${hint}`);
    }
    if (Date.now() >= deadline) {
      throw new CliError(EXIT.TIMEOUT, `account ${accountId} is still ${answer.connection} after ${Math.round(opts.timeoutMs / 1000)} s`);
    }
    await ctx.sleep(Math.min(opts.intervalMs, Math.max(0, deadline - Date.now())));
  }
}
