import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type DatabaseType from 'better-sqlite3';
import { arg, stringFlag, type CommandSpec } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { renderFields } from '../output.js';

/** The SQLite file the server uses: `DATA_DIR/wasync.db` (src/store/open.ts). */
function serverDbFile(env: NodeJS.ProcessEnv, cwd: string): string {
  return path.resolve(cwd, env.DATA_DIR || './data', 'wasync.db');
}

export const operationCommands: readonly CommandSpec[] = [
  {
    path: ['ready'],
    args: [],
    summary: 'Exit 0 when the server answers /ready (the Docker healthcheck); prints its mode and instance.',
    async run(ctx) {
      const res = await ctx.api.request<{ ready: boolean; mode: string; instanceId: string }>('GET', '/ready', {
        open: true,
        timeoutMs: 5_000,
      });
      if (ctx.json) return ctx.out.json(res);
      ctx.out.print(`${res.ready ? 'ready' : 'not ready'}: ${res.mode}, instance ${res.instanceId}`);
      return res.ready ? EXIT.OK : EXIT.UNAVAILABLE;
    },
  },
  {
    path: ['backup'],
    args: [{ name: 'DEST' }],
    summary: "Copy the SQLite store to DEST while the server runs (SQLite's online backup API; run it on the server's box).",
    options: {
      db: { type: 'string', value: 'FILE', description: 'The database to copy (default: DATA_DIR/wasync.db).' },
      force: { type: 'boolean', description: 'Replace DEST if it exists.' },
    },
    async run(ctx) {
      if (ctx.env.STORE === 'firestore') {
        throw new UsageError('backup copies the SQLite store; this environment says STORE=firestore (use a Firestore export there)');
      }
      const source = path.resolve(ctx.cwd, stringFlag(ctx, 'db') ?? serverDbFile(ctx.env, ctx.cwd));
      const dest = path.resolve(ctx.cwd, arg(ctx, 'DEST'));
      if (!existsSync(source)) throw new CliError(EXIT.NOT_FOUND, `no database at ${source} (set DATA_DIR or --db)`);
      if (dest === source) throw new UsageError('DEST is the database itself');
      if (existsSync(dest) && ctx.flags.force !== true) throw new UsageError(`${dest} exists (--force replaces it)`);
      const partial = `${dest}.partial`;
      rmSync(partial, { force: true });
      const started = Date.now();
      // Read-only: the backup never writes the live file. In WAL mode it reads one snapshot while
      // the server goes on writing; SQLite restarts a step that a concurrent write invalidated.
      // Loaded here: the REST commands never pay for the native module.
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(source, { readonly: true, fileMustExist: true });
      try {
        // After the first step, copy the rest in one step: under steady writes, small steps could be
        // restarted over and over.
        await db.backup(partial, { progress: ({ totalPages }) => Math.max(100, totalPages) });
      } catch (err) {
        rmSync(partial, { force: true });
        throw new CliError(EXIT.FAILED, `backup of ${source} failed: ${(err as Error).message}`);
      } finally {
        db.close();
      }
      const summary = verifyCopy(new Database(partial), partial);
      renameSync(partial, dest);
      const result = { source, file: dest, bytes: statSync(dest).size, durationMs: Date.now() - started, ...summary };
      if (ctx.json) return ctx.out.json(result);
      ctx.out.print(
        renderFields([
          ['backup', dest],
          ['of', source],
          ['size', `${result.bytes} bytes`],
          ['schema version', String(result.schemaVersion)],
          ['accounts, threads, messages', `${result.accounts}, ${result.threads}, ${result.messages}`],
          ['took', `${result.durationMs} ms`],
        ]),
      );
    },
  },
];

/** The copy must be a whole database a server can open: integrity check, schema version, row counts. */
function verifyCopy(
  db: DatabaseType.Database,
  file: string,
): { schemaVersion: number; accounts: number; threads: number; messages: number } {
  try {
    // A standalone file: no -wal beside it to lose when the copy is moved.
    db.pragma('journal_mode = DELETE');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new CliError(EXIT.FAILED, `the copy fails SQLite's quick_check: ${String(check)}`);
    const count = (table: string): number => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    const version = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    return { schemaVersion: version, accounts: count('accounts'), threads: count('threads'), messages: count('messages') };
  } catch (err) {
    db.close();
    rmSync(file, { force: true });
    throw err instanceof CliError ? err : new CliError(EXIT.FAILED, `the copy is not a wasync database: ${(err as Error).message}`);
  } finally {
    if (db.open) db.close();
  }
}
