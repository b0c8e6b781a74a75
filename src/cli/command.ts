import type { ApiClient } from './client.js';
import { UsageError, type ExitCode } from './errors.js';
import type { Output } from './output.js';

/** One option of a command, in `util.parseArgs` terms plus what the help shows. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help (`--phone NUMBER`). */
  value?: string;
  /** The command cannot run without it (shown in its usage line, checked before anything is sent). */
  required?: boolean;
  description: string;
}

export interface ArgSpec {
  name: string;
  optional?: boolean;
  /** Takes every remaining word (joined by spaces): `send`'s text. */
  rest?: boolean;
}

export interface CommandContext {
  args: Record<string, string | undefined>;
  flags: Readonly<Record<string, string | boolean | undefined>>;
  json: boolean;
  api: ApiClient;
  out: Output;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Injected so that waits are testable and stop promptly. */
  sleep(ms: number): Promise<void>;
  readStdin(): Promise<string>;
}

/**
 * A row of the command table. `path` is the words that select it (`['accounts', 'add']`); the
 * dispatcher picks the longest path that matches, so adding a command (or a subcommand) is adding a
 * row: nothing else changes.
 */
export interface CommandSpec {
  path: readonly string[];
  args: readonly ArgSpec[];
  summary: string;
  options?: Readonly<Record<string, OptionSpec>>;
  // biome-ignore lint/suspicious/noConfusingVoidType: a command with nothing to report just returns (exit 0).
  run(ctx: CommandContext): Promise<ExitCode | void>;
}

/**
 * Commands the CLI will have once the server has what they need. The dispatcher names the missing
 * piece instead of answering "unknown command"; moving one into the table is all it takes.
 */
export const NOT_YET: Readonly<Record<string, string>> = {};

export function usageLine(spec: CommandSpec): string {
  const args = spec.args.map((a) => (a.optional ? `[${a.name}${a.rest ? '…' : ''}]` : `${a.name}${a.rest ? '…' : ''}`));
  const required = Object.entries(spec.options ?? {})
    .filter(([, o]) => o.required)
    .map(([name, o]) => `--${name}${o.value ? ` ${o.value}` : ''}`);
  return ['wasync', ...spec.path, ...args, ...required].join(' ');
}

/** An integer flag within bounds, or undefined when absent. */
export function intFlag(ctx: Pick<CommandContext, 'flags'>, name: string, min: number, max: number): number | undefined {
  const raw = ctx.flags[name];
  if (raw === undefined) return undefined;
  const n = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got "${String(raw)}"`);
  return n;
}

export function stringFlag(ctx: Pick<CommandContext, 'flags'>, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A required positional: the dispatcher has checked the count, so absence is a bug. */
export function arg(ctx: Pick<CommandContext, 'args'>, name: string): string {
  const v = ctx.args[name];
  if (v === undefined) throw new UsageError(`missing ${name}`);
  return v;
}

/** Path segment for an id typed by a person: encoded, so `/` or `?` cannot change the route. */
export function seg(id: string): string {
  return encodeURIComponent(id);
}
