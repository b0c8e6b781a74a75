import QRCode from 'qrcode';
import type { ConnectionStatus } from '../../domain/records.js';
import type { QrAnswer } from '../api-types.js';
import { arg, intFlag, seg, stringFlag, type CommandContext, type CommandSpec } from '../command.js';
import { waitUntilOpen } from '../wait.js';

const PAIRABLE: ReadonlySet<ConnectionStatus> = new Set(['qr', 'open']);

const WAIT_OPTIONS = {
  timeout: { type: 'string', value: 'SECONDS', description: 'Give up after this long (default 300; 0 = never).' },
  interval: { type: 'string', value: 'MS', description: 'Poll the server this often (default 1000).' },
} as const;

function waitOptions(ctx: CommandContext): { timeoutMs: number; intervalMs: number } {
  return { timeoutMs: (intFlag(ctx, 'timeout', 0, 86_400) ?? 300) * 1000, intervalMs: intFlag(ctx, 'interval', 100, 60_000) ?? 1000 };
}

/** Clear the screen and the scrollback, cursor home: a rotated QR replaces the old one in place. */
const CLEAR = '\x1b[2J\x1b[3J\x1b[H';

async function drawQr(ctx: CommandContext, answer: QrAnswer, shown: number): Promise<void> {
  if (ctx.json) return ctx.out.jsonLine({ accountId: answer.accountId, connection: answer.connection, qr: answer.qr });
  if (answer.qr === null) return ctx.out.note(`${answer.accountId}: ${answer.connection}…`);
  // Half-block characters: two QR rows per terminal line, small enough for an 80×24 terminal.
  const art = await QRCode.toString(answer.qr, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
  const caption =
    `QR ${shown} for ${answer.accountId} (${new Date().toLocaleTimeString()}): ` +
    'on the phone, WhatsApp → Settings → Linked devices → Link a device.\n' +
    'It is replaced as WhatsApp rotates it; Ctrl-C to stop waiting.';
  ctx.out.print(`${ctx.out.isTTY ? CLEAR : ''}${art}\n${caption}`);
}

export const pairingCommands: readonly CommandSpec[] = [
  {
    path: ['qr'],
    args: [{ name: 'ACCOUNT' }],
    summary: "Draw the account's pairing QR in the terminal, redrawn as it rotates, until the account is open.",
    options: {
      new: { type: 'boolean', description: 'Drop the session and ask for a new QR first (after a logout).' },
      ...WAIT_OPTIONS,
    },
    async run(ctx) {
      const id = arg(ctx, 'ACCOUNT');
      if (ctx.flags.new === true) await ctx.api.request('POST', `/api/whatsapp/accounts/${seg(id)}/regenerate-qr`);
      let shown = 0;
      let drawing = Promise.resolve();
      const final = await waitUntilOpen(ctx, id, {
        ...waitOptions(ctx),
        onChange(answer) {
          if (answer.connection === 'open') return;
          if (answer.qr !== null) shown += 1;
          const n = shown;
          drawing = drawing.then(() => drawQr(ctx, answer, n));
        },
      });
      await drawing;
      if (ctx.json) return ctx.out.jsonLine({ accountId: id, connection: final.connection, qr: null });
      ctx.out.print(`${id} is open${shown > 0 && ctx.out.isTTY ? ' (paired)' : ''}`);
    },
  },
  {
    path: ['pair'],
    args: [{ name: 'ACCOUNT' }],
    summary: 'Pair by phone number instead of QR: prints the code to type on the phone.',
    options: {
      phone: {
        type: 'string',
        value: 'NUMBER',
        required: true,
        description: "The account's phone number, international form, digits only (e.g. 40712345678).",
      },
      wait: { type: 'boolean', description: 'Then wait until the account is open.' },
      ...WAIT_OPTIONS,
    },
    async run(ctx) {
      const id = arg(ctx, 'ACCOUNT');
      const phone = stringFlag(ctx, 'phone') ?? '';
      // WhatsApp takes a pairing-code request on a connection that is waiting to pair (the QR
      // stage); right after `accounts add` the actor may still be starting.
      const ready = await waitUntilOpen(ctx, id, { ...waitOptions(ctx), until: PAIRABLE });
      if (ready.connection === 'open') {
        if (ctx.json) return ctx.out.jsonLine({ accountId: id, connection: 'open' });
        return ctx.out.note(`${id} is already open: nothing to pair`);
      }
      const res = await ctx.api.request<{ code: string }>('POST', `/api/whatsapp/accounts/${seg(id)}/pairing-code`, {
        // People write +40 712-345 678; the API takes the digits.
        body: { phoneNumber: phone.replace(/[\s()+.-]/g, '') },
      });
      if (ctx.json) ctx.out.jsonLine({ accountId: id, code: res.code });
      else {
        ctx.out.print(res.code.length === 8 ? `${res.code.slice(0, 4)}-${res.code.slice(4)}` : res.code);
        ctx.out.note(
          'On the phone: WhatsApp → Settings → Linked devices → Link a device → Link with phone number instead, then type this code.',
        );
      }
      if (ctx.flags.wait !== true) return;
      const final = await waitUntilOpen(ctx, id, waitOptions(ctx));
      if (ctx.json) ctx.out.jsonLine({ accountId: id, connection: final.connection });
      else ctx.out.note(`${id} is open`);
    },
  },
];
