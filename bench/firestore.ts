import { Timestamp, type Firestore, type WriteBatch } from 'firebase-admin/firestore';
import { generateHistory } from '../src/connectors/sim/history-generator.js';
import { previewOf } from '../src/domain/merge.js';
import { threadIdOf, type MessageRecord } from '../src/domain/records.js';
import { createFirestoreStore, type CommitterOptions } from '../src/store/firestore/index.js';
import { messageToDoc, toTimestamp } from '../src/store/firestore/documents.js';
import { emulatorClient, type Connection } from '../test/support/firestore-emulator-client.js';
import { startGoogleFirestoreEmulator } from '../test/support/google-firestore-emulator.js';
import { startTcpProxy } from '../test/support/tcp-proxy.js';
import { ingestHistory, mapHistory, type HistoryChunk } from './pipeline.js';

/**
 * History sync into Firestore: our pipeline (mapping → BatchWriter → FirestoreStore: one read round
 * trip and a few commits of up to 500 writes per batch) against the pattern the runbook started from
 * (per message, an awaited `set(..., { merge: true })` of `threads/{threadId}/messages/{id}` and an
 * awaited thread update), on the same generated history, in one run.
 *
 * On Google's Cloud Firestore emulator (the suite's, test/support/google-firestore-emulator.ts), a JVM
 * in a process of its own, beside the client as a real Firestore would be: on loopback, and through a
 * proxy adding network latency.
 *
 * The pipeline is measured twice:
 * - **as shipped**: the store's token bucket starts at 500 writes/s (Google's 500/50/5 ramp) and
 *   adds up to 25 ms of jitter between commits. On a fresh burst this bound, not the emulator, sets
 *   the pace: it is what a production history sync does in its first 5 minutes.
 * - **unpaced**: the same code with the bucket's initial rate set to infinity and no jitter — the raw
 *   batched-commit path, i.e. what the batching itself costs and saves.
 * The baseline has no pacing (the runbook's code had none) and pays one round trip per write.
 */

const ACCOUNT = 'account_bench_fs';

export interface FirestoreVariantResult {
  label: string;
  seconds: number;
  /** Messages stored (checked against the history), per second of wall time. */
  rate: number;
  stored: number;
  /** Documents written (message, index entry, thread…; baseline: message + thread per message). */
  writes: number;
  /** Round trips to Firestore: commits + batched reads (pipeline), one per write (baseline). */
  roundTrips: number;
}

export interface ComparisonResult {
  emulator: string;
  messages: number;
  /** Extra round-trip latency added by a proxy between client and emulator (0: loopback). */
  rttMs: number;
  baseline: FirestoreVariantResult;
  unpaced: FirestoreVariantResult;
  paced?: FirestoreVariantResult;
  /** The unpaced pipeline without the change log (`changeLog: false`): what the log costs. */
  withoutLog?: FirestoreVariantResult;
  /** unpaced / withoutLog. */
  logRatio?: number;
  /** Message rate of the pipeline / message rate of the baseline. */
  unpacedRatio: number;
  pacedRatio?: number;
}

export interface FirestoreBenchResult {
  /** On loopback. */
  loopback: ComparisonResult;
  /** Through a proxy that delays every packet (a network), smaller history. */
  latency: ComparisonResult;
}

/** Messages stored in the given threads, by count aggregations on each thread's messages. */
async function countStored(db: Firestore, threadIds: Iterable<string>): Promise<number> {
  let n = 0;
  for (const id of threadIds) n += (await db.collection(`threads/${id}/messages`).count().get()).data().count;
  return n;
}

async function runPipeline(
  label: string,
  db: Firestore,
  chunks: HistoryChunk[],
  threadIds: Set<string>,
  batching: Partial<CommitterOptions>,
  changeLog = true,
): Promise<FirestoreVariantResult> {
  let commits = 0;
  let writes = 0;
  let reads = 0;
  const getAll = db.getAll.bind(db);
  db.getAll = ((...args: Parameters<Firestore['getAll']>) => {
    reads++;
    return getAll(...args);
  }) as Firestore['getAll'];
  const store = createFirestoreStore({
    firestore: db,
    changeLog,
    batching: {
      ...batching,
      commit: (batch: WriteBatch) => {
        commits++;
        // The batch's size: a private getter of the client, read defensively (0 if it ever goes).
        writes += (batch as unknown as { _opCount?: number })._opCount ?? 0;
        return batch.commit();
      },
    },
  });
  await store.init();
  await store.createAccount({ id: ACCOUNT });
  reads = 0;
  commits = 0;
  writes = 0;
  const { seconds } = await ingestHistory(store, ACCOUNT, chunks, label);
  const stored = await store.countMessages(ACCOUNT);
  const inThreads = await countStored(db, threadIds);
  await store.close();
  if (inThreads !== stored) throw new Error(`${label}: ${stored} index entries but ${inThreads} message documents`);
  return { label, seconds, rate: stored / seconds, stored, writes, roundTrips: commits + reads };
}

/** The runbook's starting point: per message, two awaited writes, no batching, no reads. */
async function runOneByOne(db: Firestore, records: MessageRecord[], threadIds: Set<string>): Promise<FirestoreVariantResult> {
  const started = performance.now();
  for (const r of records) {
    const threadId = threadIdOf(r.accountId, r.clientJid);
    await db.doc(`threads/${threadId}/messages/${r.id}`).set(messageToDoc(r), { merge: true });
    await db.doc(`threads/${threadId}`).set(
      {
        accountId: r.accountId,
        clientJid: r.clientJid,
        lastMessageAt: toTimestamp(r.createdAt),
        lastMessagePreview: previewOf(r),
        lastMessageId: r.id,
        updatedAt: Timestamp.now(),
      },
      { merge: true },
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const stored = await countStored(db, threadIds);
  return {
    label: 'one set per message + thread update, awaited',
    seconds,
    rate: stored / seconds,
    stored,
    writes: records.length * 2,
    roundTrips: records.length * 2,
  };
}

/** Runs `fn` with firebase-admin clients of the emulator at `host`, a fresh project per `fresh()`. */
async function onEmulator<T>(host: string, fn: (fresh: () => Firestore) => Promise<T>): Promise<T> {
  const emulator = emulatorClient(host);
  const connections: Connection[] = [];
  try {
    return await fn(() => {
      const c = emulator.connect();
      connections.push(c);
      return c.firestore;
    });
  } finally {
    for (const c of connections) await c.close().catch(() => undefined);
    await emulator.close();
  }
}

function history(
  chats: number,
  messagesPerChat: number,
): { chunks: HistoryChunk[]; records: MessageRecord[]; threadIds: Set<string>; expected: number } {
  const { chunks } = generateHistory({ chats, messagesPerChat, seed: 'bench-firestore' });
  const { records } = mapHistory(ACCOUNT, chunks);
  return {
    chunks,
    records,
    threadIds: new Set(records.map((r) => threadIdOf(r.accountId, r.clientJid))),
    expected: new Set(records.map((r) => r.id)).size,
  };
}

function check(expected: number, ...results: FirestoreVariantResult[]): void {
  for (const r of results) if (r.stored !== expected) throw new Error(`${r.label}: stored ${r.stored} messages, expected ${expected}`);
}

const UNPACED: Partial<CommitterOptions> = { ramp: { initialRate: Number.POSITIVE_INFINITY }, jitterMs: 0 };

const GOOGLE_EMULATOR = 'Google Cloud Firestore emulator';

const PIPELINE_UNPACED = 'pipeline, unpaced (raw batched commits)';
const PIPELINE_PACED = 'pipeline as shipped (500 writes/s start of the ramp, jitter)';

/** Baseline, unpaced pipeline and (optionally) paced pipeline on fresh projects of one emulator. */
async function compare(
  emulator: string,
  rttMs: number,
  fresh: () => Firestore,
  h: ReturnType<typeof history>,
  withPaced: boolean,
  warmUp: ReturnType<typeof history> | null,
  withLogCost = false,
): Promise<ComparisonResult> {
  // Warm-up, not measured: the gRPC channel, and the emulator's code paths (Google's emulator is a
  // JVM: without this, whichever variant runs first also pays its JIT).
  if (warmUp) {
    await runOneByOne(fresh(), warmUp.records, warmUp.threadIds);
    await runPipeline('warm-up', fresh(), warmUp.chunks, warmUp.threadIds, UNPACED);
  } else {
    await runPipeline('warm-up', fresh(), h.chunks.slice(0, 1), h.threadIds, UNPACED);
  }
  const baseline = await runOneByOne(fresh(), h.records, h.threadIds);
  const unpaced = await runPipeline(PIPELINE_UNPACED, fresh(), h.chunks, h.threadIds, UNPACED);
  const paced = withPaced ? await runPipeline(PIPELINE_PACED, fresh(), h.chunks, h.threadIds, {}) : undefined;
  const withoutLog = withLogCost
    ? await runPipeline('pipeline, unpaced, change log off', fresh(), h.chunks, h.threadIds, UNPACED, false)
    : undefined;
  check(h.expected, baseline, unpaced, ...(paced ? [paced] : []), ...(withoutLog ? [withoutLog] : []));
  return {
    emulator,
    messages: h.expected,
    rttMs,
    baseline,
    unpaced,
    unpacedRatio: unpaced.rate / baseline.rate,
    ...(paced ? { paced, pacedRatio: paced.rate / baseline.rate } : {}),
    ...(withoutLog ? { withoutLog, logRatio: unpaced.rate / withoutLog.rate } : {}),
  };
}

export async function benchFirestore(opts: {
  chats: number;
  messagesPerChat: number;
  latency: { rttMs: number; chats: number; messagesPerChat: number };
}): Promise<FirestoreBenchResult> {
  // The batch writer's flush timer is unref'd: keep the process alive while only it is pending.
  const keepAlive = setInterval(() => undefined, 1_000);
  const google = await startGoogleFirestoreEmulator();
  try {
    const full = history(opts.chats, opts.messagesPerChat);
    const small = history(opts.latency.chats, opts.latency.messagesPerChat);
    const loopback = await onEmulator(google.host, (fresh) => compare(GOOGLE_EMULATOR, 0, fresh, full, true, small, true));
    const proxy = await startTcpProxy(google.host, { rttMs: opts.latency.rttMs });
    try {
      const latency = await onEmulator(proxy.host, (fresh) => compare(GOOGLE_EMULATOR, opts.latency.rttMs, fresh, small, true, null));
      return { loopback, latency };
    } finally {
      proxy.stop();
    }
  } finally {
    await google.stop();
    clearInterval(keepAlive);
  }
}
