import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { SqliteStore } from '../src/store/sqlite/index.js';
import { serializeMessage } from '../src/http/serialize.js';

/** Piscina task for the read-offload measurement: one store connection per pool thread. */
let store: SqliteStore | null = null;

export default async function read(task: { file: string; accountId: string; threadId: string; limit: number }): Promise<string> {
  if (!store) {
    store = openSqliteStore({ file: task.file });
    await store.init();
  }
  const page = await store.listMessages(task.accountId, task.threadId, { limit: task.limit });
  return JSON.stringify({ success: true, messages: page.items.map(serializeMessage), count: page.items.length, nextCursor: page.nextCursor });
}
