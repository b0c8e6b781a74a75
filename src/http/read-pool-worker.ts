import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../logging/logger.js';
import { openStore } from '../store/open.js';
import type { ListOptions, Store } from '../store/port.js';
import { messagesReply, threadsReply } from './conversation-reads.js';
import type { PageReply } from './conversation-reads.js';
import { replyForError, type BufferedReply, type BytesReply } from './respond.js';

/** What every pool thread is started with. */
export interface ReadPoolData {
  /** The environment the server's configuration came from; the thread loads its own from it. */
  env: Record<string, string>;
}

/**
 * A piscina task: one list endpoint's work on this pool thread's own store connection. The reply is
 * returned as JSON text, so the HTTP thread only writes a string; errors become the same JSON error
 * replies the inline path gives (class identity does not cross threads).
 */
export type ReadTask =
  | { kind: 'threads'; accountId: string; page: ListOptions; ifNoneMatch: string }
  | { kind: 'messages'; accountId: string; threadId: string; page: ListOptions; ifNoneMatch: string };

const { env } = workerData as ReadPoolData;
const config = loadConfig(env);
const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, name: 'wasync-read-pool' });

let opened: Promise<Store> | null = null;

/** The same factory as every other thread; `init` only prepares statements (the server migrated the schema). */
function store(): Promise<Store> {
  opened ??= (async () => {
    const s = await openStore(config, logger, env);
    await s.init();
    return s;
  })();
  // A failed open is retried by the next task instead of poisoning this pool thread for good.
  opened.catch(() => {
    opened = null;
  });
  return opened;
}

const utf8 = new TextEncoder();

export default async function run(task: ReadTask): Promise<PageReply> {
  try {
    const s = await store();
    const reply =
      task.kind === 'threads'
        ? await threadsReply(s, task.accountId, task.page, task.ifNoneMatch)
        : await messagesReply(s, task.accountId, task.threadId, task.page, task.ifNoneMatch);
    return asBytes(asText(reply));
  } catch (err) {
    return asText(replyForError(err, logger, `read-pool ${task.kind}`));
  }
}

/**
 * A page goes back as UTF-8 bytes whose buffer is *moved* to the HTTP thread, not copied: that thread
 * then neither copies the page (about 45 KB for 50 messages) out of the message nor encodes it, for the
 * response or for the response cache, which keeps these very bytes. Errors and 304s stay text.
 */
function asBytes(reply: BufferedReply): PageReply {
  if (reply.status !== 200 || !('text' in reply)) return reply;
  const bytes = utf8.encode(reply.text);
  const moved: BytesReply = {
    status: reply.status,
    bytes,
    contentType: reply.contentType,
    ...(reply.headers ? { headers: reply.headers } : {}),
  };
  // piscina transfers what `transferableSymbol` names and resolves the task with `valueSymbol`.
  return move({ [transferableSymbol]: bytes.buffer, [valueSymbol]: moved }) as unknown as PageReply;
}

function asText(reply: BufferedReply): BufferedReply {
  if ('text' in reply) return reply;
  return { status: reply.status, text: JSON.stringify(reply.json), contentType: 'application/json' };
}
