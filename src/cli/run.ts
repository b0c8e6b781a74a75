import { parseArgs } from 'node:util';
import { ApiClient, resolveConnection } from './client.js';
import { NOT_YET, usageLine, type CommandContext, type CommandSpec, type OptionSpec } from './command.js';
import { COMMANDS } from './commands/index.js';
import { CliError, EXIT, UsageError, type ExitCode } from './errors.js';
import type { Output } from './output.js';

const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  url: {
    type: 'string',
    value: 'URL',
    description: 'The server (default: WASYNC_URL, else http://127.0.0.1:$PORT, PORT defaulting to 8080).',
  },
  token: {
    type: 'string',
    value: 'TOKEN',
    description:
      'API token (default: WASYNC_TOKEN, API_TOKEN, else the file DATA_DIR/api-token). ' +
      'Visible to other users in ps: prefer the variable or the file.',
  },
  json: { type: 'boolean', description: "Print the API's JSON instead of text." },
  help: { type: 'boolean', short: 'h', description: 'Show help.' },
  version: { type: 'boolean', description: 'Print the version.' },
};

export interface CliEnvironment {
  out: Output;
  env: NodeJS.ProcessEnv;
  cwd: string;
  version: string;
  readStdin(): Promise<string>;
  sleep?(ms: number): Promise<void>;
}

/** Runs one command line; never throws: every failure is a message on stderr and an exit code. */
export async function runCli(argv: readonly string[], io: CliEnvironment): Promise<ExitCode> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.out.note(`wasync: ${err.message}`);
      if (err.exitCode === EXIT.USAGE) io.out.note('(wasync --help lists the commands)');
      return err.exitCode;
    }
    io.out.note(`wasync: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT.FAILED;
  }
}

async function dispatch(argv: readonly string[], io: CliEnvironment): Promise<ExitCode> {
  // First pass: only the global options are known, to find the command words wherever they are.
  const first = parseArgs({ args: [...argv], options: toParseArgs(GLOBAL_OPTIONS), allowPositionals: true, strict: false });
  const words = first.positionals;
  if (words[0] === 'help') return help(words.slice(1), io);
  if (first.values.version === true && words.length === 0) {
    io.out.print(io.version);
    return EXIT.OK;
  }
  const spec = findCommand(words);
  if (!spec) {
    if (words.length === 0) return help([], io, first.values.help === true ? EXIT.OK : EXIT.USAGE);
    const notYet = NOT_YET[words[0]!];
    if (notYet) throw new UsageError(`"${words[0]}" is not available in this version: ${notYet}`);
    throw new UsageError(`unknown command "${words.join(' ')}"`);
  }
  if (first.values.help === true) return help(spec.path as string[], io);

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: toParseArgs({ ...GLOBAL_OPTIONS, ...spec.options }),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}\nusage: ${usageLine(spec)}`);
  }
  const positionals = parsed.positionals.slice(spec.path.length);
  const args = bindArgs(spec, positionals);
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  for (const [name, o] of Object.entries(spec.options ?? {})) {
    if (o.required && flags[name] === undefined)
      throw new UsageError(`missing --${name}${o.value ? ` ${o.value}` : ''}\nusage: ${usageLine(spec)}`);
  }
  const ctx: CommandContext = {
    args,
    flags,
    json: flags.json === true,
    api: new ApiClient(resolveConnection({ url: stringOr(flags.url), token: stringOr(flags.token) }, io.env, io.cwd)),
    out: io.out,
    env: io.env,
    cwd: io.cwd,
    sleep: io.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    readStdin: io.readStdin,
  };
  return (await spec.run(ctx)) ?? EXIT.OK;
}

/** The longest command path that the words start with. */
function findCommand(words: readonly string[]): CommandSpec | undefined {
  let best: CommandSpec | undefined;
  for (const spec of COMMANDS) {
    if (spec.path.every((w, i) => words[i] === w) && spec.path.length > (best?.path.length ?? 0)) best = spec;
  }
  return best;
}

function bindArgs(spec: CommandSpec, words: readonly string[]): Record<string, string | undefined> {
  const required = spec.args.filter((a) => !a.optional).length;
  const rest = spec.args.at(-1)?.rest === true;
  if (words.length < required || (!rest && words.length > spec.args.length)) {
    const what = words.length < required ? `missing ${spec.args[words.length]!.name}` : `unexpected "${words[spec.args.length]}"`;
    throw new UsageError(`${what}\nusage: ${usageLine(spec)}`);
  }
  const out: Record<string, string | undefined> = {};
  spec.args.forEach((a, i) => {
    out[a.name] = a.rest ? (words.length > i ? words.slice(i).join(' ') : undefined) : words[i];
  });
  return out;
}

function toParseArgs(options: Readonly<Record<string, OptionSpec>>): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  return Object.fromEntries(
    Object.entries(options).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
  );
}

function stringOr(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(
    ([name, o]) => [`${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`, o.description] as const,
  );
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`);
}

function help(words: readonly string[], io: CliEnvironment, code: ExitCode = EXIT.OK): ExitCode {
  const spec = words.length > 0 ? findCommand(words) : undefined;
  if (words.length > 0 && !spec) throw new UsageError(`unknown command "${words.join(' ')}"`);
  if (spec) {
    io.out.print(
      [
        `usage: ${usageLine(spec)} [options]`,
        '',
        spec.summary,
        '',
        'options:',
        ...optionLines({ ...spec.options, ...GLOBAL_OPTIONS }),
      ].join('\n'),
    );
    return code;
  }
  const usages = COMMANDS.map((c) => [usageLine(c).slice('wasync '.length), c.summary] as const);
  const width = Math.max(...usages.map(([u]) => u.length));
  io.out.print(
    [
      'wasync: talk to a running wasync server over its REST API.',
      '',
      'usage: wasync COMMAND [ARGS] [options]',
      '',
      'commands:',
      ...usages.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`),
      '',
      'options for every command:',
      ...optionLines(GLOBAL_OPTIONS),
      '',
      'exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 no or wrong token, 5 server unreachable or unavailable, 6 timed out.',
      `not yet: ${Object.keys(NOT_YET).join(', ')}.`,
    ].join('\n'),
  );
  return code;
}
