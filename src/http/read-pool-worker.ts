import { pino } from 'pino';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.js';
import { messagesReply, threadsReply } from './conversation-reads.js';
import { replyForError, type BufferedReply } from './respond.js';

/**
 * A piscina task: one list endpoint's work on this pool thread's own SQLite connection. The reply is
 * returned as JSON text, so the HTTP thread only writes a string; errors become the same JSON error
 * replies the inline path gives (class identity does not cross threads).
 */
export type ReadTask =
  | { file: string; kind: 'threads'; accountId: string; query: string }
  | { file: string; kind: 'messages'; accountId: string; threadId: string; query: string };

let opened: Promise<SqliteStore> | null = null;

function storeFor(file: string): Promise<SqliteStore> {
  opened ??= (async () => {
    const s = openSqliteStore({ file });
    // Prepares this connection's statements; the schema itself is already migrated by the server.
    await s.init();
    return s;
  })();
  // A failed open is retried by the next task instead of poisoning this pool thread for good.
  opened.catch(() => {
    opened = null;
  });
  return opened;
}
const logger = pino({ level: 'warn', name: 'wasync-read-pool' });

export default async function run(task: ReadTask): Promise<BufferedReply> {
  try {
    const store = await storeFor(task.file);
    const reply =
      task.kind === 'threads'
        ? await threadsReply(store, task.accountId, task.query)
        : await messagesReply(store, task.accountId, task.threadId, task.query);
    return asText(reply);
  } catch (err) {
    return asText(replyForError(err, logger, `read-pool ${task.kind}`));
  }
}

function asText(reply: BufferedReply): BufferedReply {
  if ('text' in reply) return reply;
  return { status: reply.status, text: JSON.stringify(reply.json), contentType: 'application/json' };
}
