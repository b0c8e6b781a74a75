import { once } from 'node:events';
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { arg, seg, stringFlag, type CommandSpec } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { renderFields } from '../output.js';

const FORMATS = ['jsonl', 'csv'] as const;
type Format = (typeof FORMATS)[number];

/**
 * Counts records as the bytes go by: JSON Lines ends each with LF; in CSV a record ends at an LF
 * outside quotes (a quoted body may hold line breaks; a doubled quote toggles twice and cancels out).
 */
function recordCounter(format: Format): { feed(chunk: Uint8Array): void; readonly records: number } {
  let newlines = 0;
  let quoted = false;
  return {
    feed(chunk) {
      for (const b of chunk) {
        if (format === 'csv' && b === 0x22) quoted = !quoted;
        else if (b === 0x0a && !quoted) newlines++;
      }
    },
    get records() {
      return format === 'csv' ? Math.max(0, newlines - 1) : newlines;
    },
  };
}

export const exportCommands: readonly CommandSpec[] = [
  {
    path: ['export'],
    args: [{ name: 'ACCOUNT' }],
    summary: "Stream an account's messages as JSON Lines or CSV, to standard output or a file (-o).",
    options: {
      format: { type: 'string', value: 'jsonl|csv', description: 'Line format (default: from the -o file name, .csv → csv; else jsonl).' },
      thread: { type: 'string', value: 'THREAD_ID', description: 'Only this thread ({accountId}__{clientJid}).' },
      since: {
        type: 'string',
        value: 'TIME',
        description: 'Only messages from this time on: ISO 8601 (2026-01-31, 2026-01-31T08:00:00Z) or epoch ms.',
      },
      output: {
        type: 'string',
        short: 'o',
        value: 'FILE',
        description: 'Write to FILE instead of standard output (as FILE.partial, renamed once complete).',
      },
      force: { type: 'boolean', description: 'With -o: replace FILE if it exists.' },
    },
    async run(ctx) {
      const account = arg(ctx, 'ACCOUNT');
      const file = stringFlag(ctx, 'output');
      const explicit = stringFlag(ctx, 'format');
      if (explicit !== undefined && !(FORMATS as readonly string[]).includes(explicit)) {
        throw new UsageError(`--format: expected jsonl or csv, got "${explicit}"`);
      }
      const format: Format = (explicit as Format | undefined) ?? (file?.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl');
      const q = new URLSearchParams({ format });
      const thread = stringFlag(ctx, 'thread');
      if (thread !== undefined) q.set('threadId', thread);
      const since = stringFlag(ctx, 'since');
      if (since !== undefined) q.set('since', since);

      const dest = file === undefined ? null : path.resolve(ctx.cwd, file);
      if (dest && existsSync(dest) && ctx.flags.force !== true) throw new UsageError(`${dest} exists (--force replaces it)`);
      const started = Date.now();
      // The server checks account, thread and parameters before the first byte: those errors come
      // back here as ordinary answers, before any file is created.
      const { body } = await ctx.api.download(`/api/whatsapp/export/${seg(account)}?${q}`);
      const partial = dest ? `${dest}.partial` : null;
      const out = partial ? createWriteStream(partial, { mode: 0o600 }) : ctx.out.stream;
      const counter = recordCounter(format);
      let bytes = 0;
      try {
        for await (const chunk of body) {
          bytes += chunk.length;
          counter.feed(chunk);
          if (!out.write(chunk)) await once(out, 'drain');
        }
        if (partial) {
          out.end();
          await once(out, 'finish');
          renameSync(partial, dest!);
        }
      } catch (err) {
        if (partial) {
          out.end();
          rmSync(partial, { force: true });
        }
        // A transfer the server cut short (it failed mid-way) ends without its last chunk.
        throw new CliError(EXIT.FAILED, `export cut short after ${bytes} bytes: ${(err as Error).message}`);
      }
      const result = { account, format, file: dest, messages: counter.records, bytes, durationMs: Date.now() - started };
      if (dest && ctx.json) return ctx.out.json(result);
      const summary = `${result.messages} messages, ${bytes} bytes, ${format}, in ${result.durationMs} ms`;
      if (dest)
        ctx.out.print(
          renderFields([
            ['export', dest],
            ['of', account],
            ['wrote', summary],
          ]),
        );
      else ctx.out.note(`exported ${summary}`);
    },
  },
];
