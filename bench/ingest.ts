import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { threadIdOf, type MessageRecord } from '../src/domain/records.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { DEFAULT_BUSY_TIMEOUT_MS } from '../src/store/sqlite/sqlite-store.js';
import { MIGRATIONS } from '../src/store/sqlite/schema.js';
import { MESSAGE_COLUMNS, messageValues } from '../src/store/sqlite/row-mapping.js';
import { generateHistory } from '../src/connectors/sim/history-generator.js';

import { ingestHistory, mapHistory, type HistoryChunk } from './pipeline.js';

export interface IngestBenchResult {
  messages: number;
  chats: number;
  /** Baileys events → mapping → batch writer → SqliteStore, messages per second (best of the trials). */
  pipelineRate: number;
  /** The same pipeline with the store's change log switched off (`changeLog: false`). */
  withoutLogRate: number;
  /** pipelineRate / withoutLogRate (wall clock): what the transactional outbox costs history ingest. */
  logRatio: number;
  /**
   * The same ratio in messages per second of CPU time (the pipeline runs on one thread here): the
   * figure other processes on a shared machine cannot skew.
   */
  logCpuRatio: number;
  /** Mapping alone (no store), messages per second. */
  mappingRate: number;
  /** The same rows through one prepared INSERT in transactions of 500 into an equivalent table. */
  bareRate: number;
  ratio: number;
  /** The same ratio from CPU time instead of wall time: steadier on a shared machine (one thread does all the work). */
  cpuRatio: number;
  trials: number;
  /** Transactions of one pipeline run (batches of at most 500 mutations) and of the bare insert (500 rows each). */
  pipelineTransactions: number;
  bareTransactions: number;
}

/** Wall and CPU seconds of `fn` (this process's user + system time). */
async function timed(fn: () => Promise<void> | void): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const cpu = process.cpuUsage(cpu0);
  return { wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
}

const ACCOUNT = 'account_bench';

async function runPipeline(
  chunks: HistoryChunk[],
  dir: string,
  changeLog = true,
): Promise<{ stored: number; wall: number; cpu: number; transactions: number; file: string }> {
  const file = path.join(dir, changeLog ? 'pipeline.db' : 'pipeline-nolog.db');
  const store = openSqliteStore({ file, changeLog });
  await store.init();
  await store.createAccount({ id: ACCOUNT });
  let transactions = 0;
  const t = await timed(async () => {
    transactions = (await ingestHistory(store, ACCOUNT, chunks, 'sqlite pipeline')).transactions;
  });
  const stored = await store.countMessages(ACCOUNT);
  await store.close();
  return { stored, transactions, file, ...t };
}

/** The `messages` table and its indexes as SQLite stores their definitions: the bare table must be the store's. */
function messagesSchema(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'messages' ORDER BY name`).all();
    return JSON.stringify(rows);
  } finally {
    db.close();
  }
}

/**
 * The practical limit: the same rows, one prepared statement, same table, same pragmas, no logic.
 * The pragmas are SqliteStore's (its constructor and `init()`); everything else is SQLite's default
 * on both connections (page size, cache size, auto-checkpoint every 1,000 WAL pages).
 */
async function runBare(
  records: MessageRecord[],
  dir: string,
): Promise<{ stored: number; wall: number; cpu: number; transactions: number; file: string }> {
  const file = path.join(dir, 'bare.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${DEFAULT_BUSY_TIMEOUT_MS}`);
  for (const m of MIGRATIONS) db.exec(m.sql);
  const insert = db.prepare(
    `INSERT INTO messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${MESSAGE_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`,
  );
  const insertMany = db.transaction((rows: MessageRecord[]) => {
    for (const r of rows) insert.run(messageValues(r, threadIdOf(r.accountId, r.clientJid)));
  });
  let transactions = 0;
  const t = await timed(() => {
    for (let i = 0; i < records.length; i += 500) {
      insertMany.immediate(records.slice(i, i + 500));
      transactions += 1;
    }
  });
  const stored = (db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
  db.close();
  return { stored, transactions, file, ...t };
}

export async function benchIngest(opts: { chats: number; messagesPerChat: number; trials: number }): Promise<IngestBenchResult> {
  // The simulated phone's own generator: the same payloads a demo account receives.
  const { chunks } = generateHistory({ chats: opts.chats, messagesPerChat: opts.messagesPerChat, seed: 'bench' });
  const { records } = mapHistory(ACCOUNT, chunks);
  let pipelineRate = 0;
  let withoutLogRate = 0;
  let pipelineCpuRate = 0;
  let withoutLogCpuRate = 0;
  let bareRate = 0;
  let mappingRate = 0;
  let bareCpuRate = 0;
  let pipelineTransactions = 0;
  let bareTransactions = 0;
  // Alternate the two so that drift on the machine (other load, page cache) hits both alike.
  for (let t = 0; t < opts.trials; t++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-bench-'));
    try {
      mappingRate = Math.max(mappingRate, records.length / mapHistory(ACCOUNT, chunks).seconds);
      const on = await runPipeline(chunks, dir);
      const off = await runPipeline(chunks, dir, false);
      pipelineRate = Math.max(pipelineRate, on.stored / on.wall);
      withoutLogRate = Math.max(withoutLogRate, off.stored / off.wall);
      pipelineCpuRate = Math.max(pipelineCpuRate, on.stored / on.cpu);
      withoutLogCpuRate = Math.max(withoutLogCpuRate, off.stored / off.cpu);
      const b = await runBare(records, dir);
      if (messagesSchema(b.file) !== messagesSchema(on.file))
        throw new Error("ingest bench: the bare table differs from the store's messages table");
      pipelineTransactions = on.transactions;
      bareTransactions = b.transactions;
      bareRate = Math.max(bareRate, b.stored / b.wall);
      bareCpuRate = Math.max(bareCpuRate, b.stored / b.cpu);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    messages: records.length,
    chats: opts.chats,
    pipelineRate,
    withoutLogRate,
    logRatio: pipelineRate / withoutLogRate,
    logCpuRatio: pipelineCpuRate / withoutLogCpuRate,
    mappingRate,
    bareRate,
    ratio: pipelineRate / bareRate,
    cpuRatio: pipelineCpuRate / bareCpuRate,
    trials: opts.trials,
    pipelineTransactions,
    bareTransactions,
  };
}
