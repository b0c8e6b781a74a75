import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { threadIdOf, type MessageRecord } from '../src/domain/records.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
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
  trials: number;
}

const ACCOUNT = 'account_bench';

async function runPipeline(chunks: HistoryChunk[], dir: string, changeLog = true): Promise<{ rate: number; cpuRate: number }> {
  const store = openSqliteStore({ file: path.join(dir, changeLog ? 'pipeline.db' : 'pipeline-nolog.db'), changeLog });
  await store.init();
  await store.createAccount({ id: ACCOUNT });
  const cpu = process.cpuUsage();
  const { seconds } = await ingestHistory(store, ACCOUNT, chunks, 'sqlite pipeline');
  const used = process.cpuUsage(cpu);
  const stored = await store.countMessages(ACCOUNT);
  await store.close();
  return { rate: stored / seconds, cpuRate: stored / ((used.user + used.system) / 1e6) };
}

/** The practical limit: the same rows, one prepared statement, same table, same pragmas, no logic. */
function runBare(records: MessageRecord[], dir: string): number {
  const db = new Database(path.join(dir, 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(MIGRATIONS[0]!.sql);
  const insert = db.prepare(
    `INSERT INTO messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${MESSAGE_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`,
  );
  const insertMany = db.transaction((rows: MessageRecord[]) => {
    for (const r of rows) insert.run(messageValues(r, threadIdOf(r.accountId, r.clientJid)));
  });
  const started = performance.now();
  for (let i = 0; i < records.length; i += 500) insertMany.immediate(records.slice(i, i + 500));
  const seconds = (performance.now() - started) / 1000;
  const count = (db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
  db.close();
  return count / seconds;
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
  // Alternate the two so that drift on the machine (other load, page cache) hits both alike.
  for (let t = 0; t < opts.trials; t++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-bench-'));
    try {
      mappingRate = Math.max(mappingRate, records.length / mapHistory(ACCOUNT, chunks).seconds);
      const on = await runPipeline(chunks, dir);
      const off = await runPipeline(chunks, dir, false);
      pipelineRate = Math.max(pipelineRate, on.rate);
      withoutLogRate = Math.max(withoutLogRate, off.rate);
      pipelineCpuRate = Math.max(pipelineCpuRate, on.cpuRate);
      withoutLogCpuRate = Math.max(withoutLogCpuRate, off.cpuRate);
      bareRate = Math.max(bareRate, runBare(records, dir));
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
    trials: opts.trials,
  };
}
