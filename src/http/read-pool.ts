import { Piscina } from 'piscina';
import type { ListOptions } from '../store/port.js';
import type { ConversationReads, PageReply } from './conversation-reads.js';
import type { ReadPoolData, ReadTask } from './read-pool-worker.js';

// Pool threads run compiled JS: under vitest this module is loaded from source, so use the build
// (vitest's globalSetup, test/support/build-before-tests.ts, brings dist/ up to date first).
const WORKER = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/src/http/read-pool-worker.js', import.meta.url)
  : new URL('./read-pool-worker.js', import.meta.url);

/**
 * piscina earns its place here, and only here: better-sqlite3 reads are synchronous, so a page read
 * plus its JSON on the uWS thread blocks every other request for its duration (about 0.7 ms for 50
 * messages, 5 ms or more for 500); through the pool the uWS thread spends a tenth of that or less per
 * read (docs/benchmarks.md has the figures of one run). Firestore reads are network I/O and
 * stay inline. Mapping history chunks is *not* pooled: cloning a chunk to another thread costs more
 * than mapping it (also in docs/benchmarks.md).
 *
 * `env` is the environment the process's configuration was loaded from: each pool thread loads the
 * same configuration from it and opens its own store through `openStore`, like an actor thread.
 */
export function pooledReads(env: Record<string, string>, threads: number): ConversationReads {
  const workerData: ReadPoolData = { env };
  const pool = new Piscina<ReadTask, PageReply>({
    filename: WORKER.href,
    minThreads: 1,
    maxThreads: threads,
    idleTimeout: 60_000,
    workerData,
  });
  return {
    threads: (accountId: string, page: ListOptions, ifNoneMatch = '') => pool.run({ kind: 'threads', accountId, page, ifNoneMatch }),
    messages: (accountId: string, threadId: string, page: ListOptions, ifNoneMatch = '') =>
      pool.run({ kind: 'messages', accountId, threadId, page, ifNoneMatch }),
    close: () => pool.destroy(),
  };
}
