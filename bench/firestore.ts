import { fork, spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Timestamp, type Firestore, type WriteBatch } from 'firebase-admin/firestore';
import { generateHistory } from '../src/connectors/sim/history-generator.js';
import { previewOf } from '../src/domain/merge.js';
import { threadIdOf, type MessageRecord } from '../src/domain/records.js';
import { createFirestoreStore, type CommitterOptions } from '../src/store/firestore/index.js';
import { messageToDoc, toTimestamp } from '../src/store/firestore/documents.js';
import { startFirestoreEmulator, type Connection, type FirestoreEmulator } from '../test/support/firestore-emulator.js';
import { freePort } from '../test/support/free-port.js';
import { ingestHistory, mapHistory, type HistoryChunk } from './pipeline.js';

/**
 * History sync into Firestore: our pipeline (mapping → BatchWriter → FirestoreStore: one read round
 * trip and a few commits of up to 500 writes per batch) against the pattern the runbook started from
 * (per message, an awaited `set(..., { merge: true })` of `threads/{threadId}/messages/{id}` and an
 * awaited thread update), on the same generated history, in one run.
 *
 * Emulators, each in a process of its own so that its work runs beside the client:
 * - on loopback, Google's Cloud Firestore emulator when the Google Cloud SDK has it installed
 *   (`platform/cloud-firestore-emulator` next to `gcloud`; needs Java), else the npm emulator the test
 *   suite uses (`@firestore-emulator/server`). The npm one spends time proportional to a collection's
 *   size on every document it adds (measured: `calibration`), which Google's and Firestore do not;
 * - through a proxy adding network latency, the npm emulator (available wherever the suite runs; on
 *   the smaller history used there its collection-size cost stays small).
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
  /** Message rate of the pipeline / message rate of the baseline. */
  unpacedRatio: number;
  pacedRatio?: number;
}

export interface FirestoreBenchResult {
  /** The loopback run: on Google's emulator when installed, else on the npm emulator. */
  loopback: ComparisonResult;
  /** Through a proxy that delays every packet (a network), on the npm emulator, smaller history. */
  latency: ComparisonResult;
  /** The npm emulator's cost model, measured: one commit of 500 new documents into an empty collection and into one holding `heldDocs`. */
  calibration: { emptyMs: number; heldDocs: number; heldMs: number };
  /** Why Google's emulator did not run, when it did not. */
  googleSkipped: string | null;
}

/** Messages stored in the given threads, by count aggregations (the emulator has no collection groups). */
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

/** The npm emulator in a child process; resolves with its host. */
async function startEmulatorProcess(): Promise<{ host: string; stop: () => void }> {
  const child = fork(fileURLToPath(new URL('./firestore-emulator-process.js', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const host = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { host?: string }) => (m.host ? resolve(m.host) : reject(new Error('emulator process: no host'))));
    child.once('exit', (code) => reject(new Error(`emulator process exited with ${code}`)));
  });
  return {
    host,
    stop: () => {
      if (child.connected) child.disconnect();
      child.kill();
    },
  };
}

/**
 * A TCP proxy that holds every chunk, in each direction, for half the round trip: the network between
 * a server and Firestore, which the local emulator does not have. Order is kept (equal delays fire in
 * the order they were set).
 */
async function startLatencyProxy(target: string, rttMs: number): Promise<{ host: string; stop: () => void }> {
  const [targetHost, targetPort] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const oneWay = rttMs / 2;
  const sockets = new Set<net.Socket>();
  const relay = (from: net.Socket, to: net.Socket): void => {
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, oneWay);
    });
    from.on('close', () => setTimeout(() => to.destroy(), oneWay));
    from.on('error', () => to.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${address.port}`,
    stop: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** Runs `fn` with the suite's emulator helper pointed at `host`, a fresh project per `fresh()`. */
async function onEmulator<T>(host: string, fn: (fresh: () => Firestore) => Promise<T>): Promise<T> {
  const previousExternal = process.env.WASYNC_TEST_FIRESTORE_EMULATOR_HOST;
  process.env.WASYNC_TEST_FIRESTORE_EMULATOR_HOST = host;
  let emulator: FirestoreEmulator | null = null;
  const connections: Connection[] = [];
  try {
    emulator = await startFirestoreEmulator();
    const e = emulator;
    return await fn(() => {
      const c = e.connect();
      connections.push(c);
      return c.firestore;
    });
  } finally {
    for (const c of connections) await c.close().catch(() => undefined);
    await emulator?.stop();
    if (previousExternal === undefined) delete process.env.WASYNC_TEST_FIRESTORE_EMULATOR_HOST;
    else process.env.WASYNC_TEST_FIRESTORE_EMULATOR_HOST = previousExternal;
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

const NPM_EMULATOR = "@firestore-emulator/server (npm; the test suite's)";
const GOOGLE_EMULATOR = 'Google Cloud Firestore emulator (gcloud SDK)';

/** Google's emulator from the Google Cloud SDK next to `gcloud` on the PATH, if installed. */
function findGoogleEmulatorJar(): string | null {
  const candidates: string[] = [];
  if (process.env.CLOUDSDK_ROOT_DIR) candidates.push(process.env.CLOUDSDK_ROOT_DIR);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const gcloud = path.join(dir, 'gcloud');
    if (dir && existsSync(gcloud)) candidates.push(path.resolve(path.dirname(realpathSync(gcloud)), '..'));
  }
  for (const root of candidates) {
    const jar = path.join(root, 'platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');
    if (existsSync(jar)) return jar;
  }
  return null;
}

/** Starts Google's emulator (Java) on a free port; resolves once it serves. */
async function startGoogleEmulator(jar: string): Promise<{ host: string; stop: () => void }> {
  const port = await freePort();
  // What the SDK's `cloud_firestore_emulator` script runs, without the shell in between (so that
  // stopping the child stops the JVM).
  const child = spawn(
    process.env.JAVA ?? 'java',
    [
      '-Duser.language=en',
      '-cp',
      jar,
      'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
      'start',
      '--host=127.0.0.1',
      `--port=${port}`,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stop = (): void => {
    if (child.exitCode === null) child.kill();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error("Google's emulator did not start within 60 s")), 60_000);
      const onData = (chunk: Buffer): void => {
        seen = (seen + chunk.toString()).slice(-4096);
        if (seen.includes('Dev App Server is now running')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Google's emulator exited with ${code}: ${seen.slice(-300)}`));
      });
    });
  } catch (err) {
    stop();
    throw err;
  }
  child.stdout.resume();
  child.stderr.resume();
  return { host: `127.0.0.1:${port}`, stop };
}

/** Milliseconds for one commit of 500 new small documents into `collection`. */
async function commit500(db: Firestore, collection: string, tag: string): Promise<number> {
  const batch = db.batch();
  for (let i = 0; i < 500; i++) {
    batch.set(db.collection(collection).doc(`${tag}_${i}`), {
      accountId: ACCOUNT,
      messageId: `${tag}_${i}`,
      threadId: 't',
      createdAt: Timestamp.now(),
    });
  }
  const started = performance.now();
  await batch.commit();
  return performance.now() - started;
}

/**
 * The npm emulator's cost of adding documents to a collection, as a function of what it holds: one
 * commit of 500 index-entry-sized documents into an empty collection, and into one holding `held`.
 */
async function calibrate(db: Firestore, held: number): Promise<{ emptyMs: number; heldDocs: number; heldMs: number }> {
  const emptyMs = await commit500(db, 'inboundDedupe', 'c0');
  for (let n = 500; n < held; n += 500) await commit500(db, 'inboundDedupe', `c${n}`);
  const heldDocs = (await db.collection('inboundDedupe').count().get()).data().count;
  return { emptyMs, heldDocs, heldMs: await commit500(db, 'inboundDedupe', 'last') };
}

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
  check(h.expected, baseline, unpaced, ...(paced ? [paced] : []));
  return {
    emulator,
    messages: h.expected,
    rttMs,
    baseline,
    unpaced,
    unpacedRatio: unpaced.rate / baseline.rate,
    ...(paced ? { paced, pacedRatio: paced.rate / baseline.rate } : {}),
  };
}

export async function benchFirestore(opts: {
  chats: number;
  messagesPerChat: number;
  latency: { rttMs: number; chats: number; messagesPerChat: number };
  /**
   * Loopback comparison on Google's emulator when the Google Cloud SDK has it (default), else on the
   * npm emulator. false: always the npm emulator.
   */
  google?: boolean;
}): Promise<FirestoreBenchResult> {
  // The batch writer's flush timer is unref'd: keep the process alive while only it is pending.
  const keepAlive = setInterval(() => undefined, 1_000);
  try {
    const full = history(opts.chats, opts.messagesPerChat);
    const small = history(opts.latency.chats, opts.latency.messagesPerChat);
    let loopback: ComparisonResult | null = null;

    let googleSkipped: string | null = null;
    const jar = opts.google === false ? null : findGoogleEmulatorJar();
    if (opts.google === false) googleSkipped = 'disabled';
    else if (!jar) googleSkipped = 'not installed (Google Cloud SDK component cloud-firestore-emulator)';
    else {
      try {
        const google = await startGoogleEmulator(jar);
        try {
          loopback = await onEmulator(google.host, (fresh) => compare(GOOGLE_EMULATOR, 0, fresh, full, true, small));
        } finally {
          google.stop();
        }
      } catch (err) {
        googleSkipped = `failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }

    const child = await startEmulatorProcess();
    try {
      const npm = await onEmulator(child.host, async (fresh) => {
        // On loopback the npm emulator's own cost model dominates (see `calibration`): its comparison
        // runs only when Google's emulator did not.
        const result = loopback ?? (await compare(NPM_EMULATOR, 0, fresh, full, true, small));
        return { result, calibration: await calibrate(fresh(), 3_000) };
      });
      const proxy = await startLatencyProxy(child.host, opts.latency.rttMs);
      try {
        const latency = await onEmulator(proxy.host, (fresh) => compare(NPM_EMULATOR, opts.latency.rttMs, fresh, small, true, null));
        return { loopback: npm.result, latency, calibration: npm.calibration, googleSkipped };
      } finally {
        proxy.stop();
      }
    } finally {
      child.stop();
    }
  } finally {
    clearInterval(keepAlive);
  }
}
