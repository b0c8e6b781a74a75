import type Database from 'better-sqlite3';
import {
  API_MESSAGE_COLUMNS,
  MEDIA_ARCHIVE_COLUMNS,
  MESSAGE_COLUMNS,
  THREAD_COLUMNS,
  type MessageRow,
  type SqlValue,
  type ThreadRow,
} from './row-mapping.js';

/** Parameters of a first page (thread, account, limit) and of a page after a cursor (…, created_at, id, limit). */
type FirstPage = [string, string, number];
type LaterPage = [string, string, number, string, number];

/**
 * Every statement the store runs, prepared once per connection after migrations: preparing costs
 * about as much as running a simple statement, and the store lives as long as its process.
 */
export function prepareStatements(db: Database.Database) {
  const messageCols = MESSAGE_COLUMNS.join(', ');
  const messagePlaceholders = MESSAGE_COLUMNS.map(() => '?').join(', ');
  // Every column but the key: a merge rewrites the whole row (the merge rule lives in domain/merge.ts).
  const messageSet = MESSAGE_COLUMNS.slice(2)
    .map((c) => `${c} = ?`)
    .join(', ');
  const apiMessageCols = API_MESSAGE_COLUMNS.join(', ');
  /** A keyset page of `messages`: the first page binds (thread, account, limit), later ones the cursor too. */
  const listMessages = (cols: string, order: 'asc' | 'desc', after: boolean): Database.Statement => {
    const keyset = after ? ` AND (created_at, id) ${order === 'desc' ? '<' : '>'} (?, ?)` : '';
    const dir = order === 'desc' ? 'DESC' : 'ASC';
    return db.prepare(
      `SELECT ${cols} FROM messages WHERE thread_id = ? AND account_id = ?${keyset}
       ORDER BY created_at ${dir}, id ${dir} LIMIT ?`,
    );
  };
  const rowList = <P extends unknown[]>(st: Database.Statement) => st as unknown as Database.Statement<P, MessageRow>;
  const rawList = <P extends unknown[]>(st: Database.Statement) => st.raw(true) as unknown as Database.Statement<P, SqlValue[]>;
  const threadCols = THREAD_COLUMNS.join(', ');
  const threadPlaceholders = THREAD_COLUMNS.map(() => '?').join(', ');

  return {
    // --- messages
    /**
     * `changes === 0` means the row exists: only then does the upsert pay for a read and a merge.
     * Bound with the values array itself (`run(values)`): spreading ~40 values into the native call
     * cost a visible share of history ingest (docs/benchmarks.md).
     */
    insertMessage: db.prepare<[readonly SqlValue[]]>(
      `INSERT INTO messages (${messageCols}) VALUES (${messagePlaceholders}) ON CONFLICT (account_id, id) DO NOTHING`,
    ),
    /** Values: MESSAGE_COLUMNS minus the key, then account_id, id. */
    updateMessage: db.prepare<SqlValue[]>(`UPDATE messages SET ${messageSet} WHERE account_id = ? AND id = ?`),
    getMessage: db.prepare<[string, string], MessageRow>(`SELECT * FROM messages WHERE account_id = ? AND id = ?`),
    getMessageStatus: db.prepare<
      [string, string],
      { status: number; delivered_at: number | null; read_at: number | null; send_error: string | null }
    >(`SELECT status, delivered_at, read_at, send_error FROM messages WHERE account_id = ? AND id = ?`),
    updateMessageStatus: db.prepare<[number, number | null, number | null, string | null, string, string]>(
      `UPDATE messages SET status = ?, delivered_at = ?, read_at = ?, send_error = ? WHERE account_id = ? AND id = ?`,
    ),
    getMessageForEdit: db.prepare<[string, string], { thread_id: string; message_type: string; edited_at: number | null }>(
      `SELECT thread_id, message_type, edited_at FROM messages WHERE account_id = ? AND id = ?`,
    ),
    editMessage: db.prepare<[string, number, string, string]>(
      `UPDATE messages SET body = ?, edited_at = ? WHERE account_id = ? AND id = ?`,
    ),
    revokeMessage: db.prepare<[number, string, string]>(
      `UPDATE messages SET revoked_at = COALESCE(revoked_at, ?) WHERE account_id = ? AND id = ?`,
    ),
    moveThreadMessages: db.prepare<[string, string, string, string]>(
      `UPDATE messages SET thread_id = ?, client_jid = ? WHERE account_id = ? AND thread_id = ?`,
    ),
    countMessages: db.prepare<[string], number>(`SELECT COUNT(*) FROM messages WHERE account_id = ?`).pluck(),
    messageExists: db.prepare<[string, string], number>(`SELECT EXISTS (SELECT 1 FROM messages WHERE account_id = ? AND id = ?)`).pluck(),
    /** Values: mediaArchivedAt, mediaSha256, mediaArchiveKey, mediaArchiveError, then account_id, id. */
    recordMediaArchive: db.prepare<[number | null, string | null, string | null, string | null, string, string]>(
      `UPDATE messages SET ${MEDIA_ARCHIVE_COLUMNS.mediaArchivedAt} = ?, ${MEDIA_ARCHIVE_COLUMNS.mediaSha256} = ?,
       ${MEDIA_ARCHIVE_COLUMNS.mediaArchiveKey} = ?, ${MEDIA_ARCHIVE_COLUMNS.mediaArchiveError} = ? WHERE account_id = ? AND id = ?`,
    ),
    // Keyset pages: the row-value comparison is served by messages_by_thread, so a deep page costs
    // the same as the first one, and (created_at, id) is a total order so ties cannot skip or repeat.
    listMessagesDescFirst: rowList<FirstPage>(listMessages('*', 'desc', false)),
    listMessagesDescAfter: rowList<LaterPage>(listMessages('*', 'desc', true)),
    listMessagesAscFirst: rowList<FirstPage>(listMessages('*', 'asc', false)),
    listMessagesAscAfter: rowList<LaterPage>(listMessages('*', 'asc', true)),
    // The API's pages (ListOptions.fields = 'api'): without raw_message and media, the two largest
    // values of a row, which the API never returns.
    // Raw mode: rows as arrays in API_MESSAGE_COLUMNS order (apiRowToMessage).
    listApiMessagesDescFirst: rawList<FirstPage>(listMessages(apiMessageCols, 'desc', false)),
    listApiMessagesDescAfter: rawList<LaterPage>(listMessages(apiMessageCols, 'desc', true)),
    listApiMessagesAscFirst: rawList<FirstPage>(listMessages(apiMessageCols, 'asc', false)),
    listApiMessagesAscAfter: rawList<LaterPage>(listMessages(apiMessageCols, 'asc', true)),
    // Exports: every message of an account by (thread_id, created_at, id), one keyset page at a time.
    // An account's thread ids are exactly those in [`{account}__`, `{account}_\``) (the separator is
    // `__` and '`' follows '_'), so the range is one stretch of messages_by_thread; INDEXED BY keeps the
    // planner from picking the primary key (account_id, id) and sorting the whole account per page.
    /** Values: after (thread_id, created_at, id), thread id upper bound (exclusive), account_id, since, limit. */
    scanAccountMessages: db.prepare<[string, number, string, string, string, number, number], MessageRow>(
      `SELECT * FROM messages INDEXED BY messages_by_thread
       WHERE (thread_id, created_at, id) > (?, ?, ?) AND thread_id < ? AND account_id = ? AND created_at >= ?
       ORDER BY thread_id, created_at, id LIMIT ?`,
    ),
    /** Values: thread_id, after (created_at, id), account_id, since, limit. */
    scanThreadMessages: db.prepare<[string, number, string, string, number, number], MessageRow>(
      `SELECT * FROM messages INDEXED BY messages_by_thread
       WHERE thread_id = ? AND (created_at, id) > (?, ?) AND account_id = ? AND created_at >= ?
       ORDER BY created_at, id LIMIT ?`,
    ),
    deleteAccountMessages: db.prepare<[string]>(`DELETE FROM messages WHERE account_id = ?`),

    // --- pending receipts
    hasPendingReceipts: db.prepare<[string], number>(`SELECT EXISTS (SELECT 1 FROM pending_receipts WHERE account_id = ?)`).pluck(),
    getPendingReceipt: db.prepare<[string, string], { status: number; delivered_at: number | null; read_at: number | null }>(
      `SELECT status, delivered_at, read_at FROM pending_receipts WHERE account_id = ? AND message_id = ?`,
    ),
    upsertPendingReceipt: db.prepare<[string, string, number, number | null, number | null]>(
      `INSERT INTO pending_receipts (account_id, message_id, status, delivered_at, read_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (account_id, message_id) DO UPDATE SET
         status = excluded.status, delivered_at = excluded.delivered_at, read_at = excluded.read_at`,
    ),
    deletePendingReceipt: db.prepare<[string, string]>(`DELETE FROM pending_receipts WHERE account_id = ? AND message_id = ?`),
    deleteAccountPendingReceipts: db.prepare<[string]>(`DELETE FROM pending_receipts WHERE account_id = ?`),

    // --- threads
    getThread: db.prepare<[string], ThreadRow>(`SELECT * FROM threads WHERE id = ?`),
    insertThread: db.prepare<SqlValue[]>(`INSERT INTO threads (${threadCols}) VALUES (${threadPlaceholders})`),
    /** Values: THREAD_COLUMNS minus id, then id. */
    updateThread: db.prepare<SqlValue[]>(
      `UPDATE threads SET ${THREAD_COLUMNS.slice(1)
        .map((c) => `${c} = ?`)
        .join(', ')} WHERE id = ?`,
    ),
    updateThreadSummary: db.prepare<[number, string, string, number, string]>(
      `UPDATE threads SET last_message_at = ?, last_message_preview = ?, last_message_id = ?, updated_at = ? WHERE id = ?`,
    ),
    updateThreadName: db.prepare<[string, string, number, string]>(
      `UPDATE threads SET display_name = ?, display_name_source = ?, updated_at = ? WHERE id = ?`,
    ),
    refreshThreadPreview: db.prepare<[string, number, string, string]>(
      `UPDATE threads SET last_message_preview = ?, updated_at = ? WHERE id = ? AND last_message_id = ?`,
    ),
    setThreadLidJid: db.prepare<[string, number, string]>(`UPDATE threads SET lid_jid = ?, updated_at = ? WHERE id = ?`),
    setThreadBackfilledAt: db.prepare<[number, number, string, string]>(
      `UPDATE threads SET last_backfill_at = ?, updated_at = ? WHERE id = ? AND account_id = ?`,
    ),
    deleteThread: db.prepare<[string]>(`DELETE FROM threads WHERE id = ?`),
    getAccountThread: db.prepare<[string, string], ThreadRow>(`SELECT * FROM threads WHERE id = ? AND account_id = ?`),
    listThreadsDescFirst: db.prepare<[string, number], ThreadRow>(
      `SELECT * FROM threads WHERE account_id = ? AND last_message_at IS NOT NULL
       ORDER BY last_message_at DESC, id DESC LIMIT ?`,
    ),
    listThreadsDescAfter: db.prepare<[string, number, string, number], ThreadRow>(
      `SELECT * FROM threads WHERE account_id = ? AND last_message_at IS NOT NULL AND (last_message_at, id) < (?, ?)
       ORDER BY last_message_at DESC, id DESC LIMIT ?`,
    ),
    listThreadsAscFirst: db.prepare<[string, number], ThreadRow>(
      `SELECT * FROM threads WHERE account_id = ? AND last_message_at IS NOT NULL
       ORDER BY last_message_at ASC, id ASC LIMIT ?`,
    ),
    listThreadsAscAfter: db.prepare<[string, number, string, number], ThreadRow>(
      `SELECT * FROM threads WHERE account_id = ? AND last_message_at IS NOT NULL AND (last_message_at, id) > (?, ?)
       ORDER BY last_message_at ASC, id ASC LIMIT ?`,
    ),
    deleteAccountThreads: db.prepare<[string]>(`DELETE FROM threads WHERE account_id = ?`),

    // --- JID mappings
    upsertJidMapping: db.prepare<[string, string, string]>(
      `INSERT INTO jid_mappings (account_id, lid, pn) VALUES (?, ?, ?)
       ON CONFLICT (account_id, lid) DO UPDATE SET pn = excluded.pn`,
    ),
    listJidMappings: db.prepare<[string], { lid: string; pn: string }>(
      `SELECT lid, pn FROM jid_mappings WHERE account_id = ? ORDER BY lid`,
    ),
    deleteAccountJidMappings: db.prepare<[string]>(`DELETE FROM jid_mappings WHERE account_id = ?`),

    // --- accounts
    insertAccount: db.prepare<[string, string]>(`INSERT INTO accounts (id, data) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`),
    getAccount: db.prepare<[string], string>(`SELECT data FROM accounts WHERE id = ?`).pluck(),
    updateAccount: db.prepare<[string, string]>(`UPDATE accounts SET data = ? WHERE id = ?`),
    listAccounts: db.prepare<[], string>(`SELECT data FROM accounts ORDER BY json_extract(data, '$.createdAt'), id`).pluck(),
    deleteAccount: db.prepare<[string]>(`DELETE FROM accounts WHERE id = ?`),

    // --- auth state
    getAuthCreds: db.prepare<[string], Uint8Array>(`SELECT value FROM auth_creds WHERE account_id = ?`).pluck(),
    putAuthCreds: db.prepare<[string, Uint8Array]>(
      `INSERT INTO auth_creds (account_id, value) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET value = excluded.value`,
    ),
    deleteAuthCreds: db.prepare<[string]>(`DELETE FROM auth_creds WHERE account_id = ?`),
    getAuthKey: db
      .prepare<[string, string, string], Uint8Array>(`SELECT value FROM auth_keys WHERE account_id = ? AND type = ? AND id = ?`)
      .pluck(),
    putAuthKey: db.prepare<[string, string, string, Uint8Array]>(
      `INSERT INTO auth_keys (account_id, type, id, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (account_id, type, id) DO UPDATE SET value = excluded.value`,
    ),
    deleteAuthKey: db.prepare<[string, string, string]>(`DELETE FROM auth_keys WHERE account_id = ? AND type = ? AND id = ?`),
    deleteAccountAuthKeys: db.prepare<[string]>(`DELETE FROM auth_keys WHERE account_id = ?`),

    ping: db.prepare<[], number>(`SELECT 1`).pluck(),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
