import type Database from 'better-sqlite3';
import { StoreError } from '../../domain/errors.js';

/**
 * Schema migrations, versioned in code. Each migration runs once, inside its own `BEGIN IMMEDIATE`
 * transaction that re-checks `schema_migrations` first: several worker threads open the same file at
 * start-up and call `init()` concurrently, and the write lock taken at BEGIN makes exactly one of
 * them apply a given version while the others wait (busy_timeout) and then see it applied.
 *
 * Append new migrations; never edit one that has shipped.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      -- Rowid table on purpose: rows can carry large raw_message blobs, which WITHOUT ROWID handles badly.
      -- The primary key is the database-level guarantee of "one row per account + message id".
      CREATE TABLE messages (
        account_id      TEXT    NOT NULL,
        id              TEXT    NOT NULL,
        thread_id       TEXT    NOT NULL,
        client_jid      TEXT    NOT NULL,
        direction       TEXT    NOT NULL,
        body            TEXT    NOT NULL,
        wa_message_id   TEXT    NOT NULL,
        -- Rank in MESSAGE_STATUS_ORDER, so "forward only" is a plain integer comparison.
        status          INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
        message_type    TEXT    NOT NULL,
        media_type      TEXT,
        media_url       TEXT,
        media_mimetype  TEXT,
        media_filename  TEXT,
        ts_client       TEXT    NOT NULL,
        ts_server       INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        synced_at       INTEGER,
        sync_source     TEXT    NOT NULL,
        delivered_at    INTEGER,
        read_at         INTEGER,
        content_type    TEXT    NOT NULL,
        from_me         INTEGER NOT NULL,
        participant     TEXT,
        push_name       TEXT,
        sync_type       TEXT,
        media_size      INTEGER,
        media           TEXT,
        ref_message_id  TEXT,
        edited_at       INTEGER,
        revoked_at      INTEGER,
        send_error      TEXT,
        raw_message     BLOB,
        PRIMARY KEY (account_id, id)
      );
      CREATE INDEX messages_by_thread ON messages (thread_id, created_at, id);

      CREATE TABLE threads (
        id                    TEXT    PRIMARY KEY,
        account_id            TEXT    NOT NULL,
        client_jid            TEXT    NOT NULL,
        display_name          TEXT,
        display_name_source   TEXT,
        last_message_at       INTEGER,
        last_message_preview  TEXT,
        last_message_id       TEXT,
        last_backfill_at      INTEGER,
        lid_jid               TEXT,
        is_group              INTEGER NOT NULL,
        created_at            INTEGER NOT NULL,
        updated_at            INTEGER NOT NULL,
        UNIQUE (account_id, client_jid)
      );
      CREATE INDEX threads_by_last_message ON threads (account_id, last_message_at, id);

      -- Account fields live in one JSON document so that new AccountRecord fields need no migration.
      CREATE TABLE accounts (
        id    TEXT PRIMARY KEY,
        data  TEXT NOT NULL
      );

      -- Receipts that arrived before their message; folded into the message when it is inserted.
      CREATE TABLE pending_receipts (
        account_id    TEXT    NOT NULL,
        message_id    TEXT    NOT NULL,
        status        INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
        delivered_at  INTEGER,
        read_at       INTEGER,
        PRIMARY KEY (account_id, message_id)
      );

      CREATE TABLE jid_mappings (
        account_id  TEXT NOT NULL,
        lid         TEXT NOT NULL,
        pn          TEXT NOT NULL,
        PRIMARY KEY (account_id, lid)
      );

      CREATE TABLE auth_creds (
        account_id  TEXT PRIMARY KEY,
        value       BLOB NOT NULL
      );

      CREATE TABLE auth_keys (
        account_id  TEXT NOT NULL,
        type        TEXT NOT NULL,
        id          TEXT NOT NULL,
        value       BLOB NOT NULL,
        PRIMARY KEY (account_id, type, id)
      );
    `,
  },
  {
    version: 2,
    name: 'settings_and_media_jobs',
    sql: `
      -- Process-wide key/value state every instance shares (the cached WhatsApp Web version, …).
      CREATE TABLE settings (
        key         TEXT    PRIMARY KEY,
        value       TEXT    NOT NULL,  -- JSON
        updated_at  INTEGER NOT NULL
      );

      -- The media-archive queue (src/store/media-queue.ts): one row per media message.
      CREATE TABLE media_jobs (
        account_id    TEXT    NOT NULL,
        message_id    TEXT    NOT NULL,
        client_jid    TEXT,
        priority      TEXT    NOT NULL CHECK (priority IN ('live', 'history')),
        message_at    INTEGER NOT NULL,
        state         TEXT    NOT NULL CHECK (state IN ('queued', 'leased', 'backoff', 'done', 'failed')),
        queue_key     TEXT,              -- set only while queued: the claim order
        wake_at       INTEGER,           -- set only while leased (lease expiry) or in backoff (retry time)
        attempts      INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        lease_id      TEXT,
        lease_holder  TEXT,
        result        TEXT,              -- JSON {sha256, size, key} once done
        enqueued_at   INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        PRIMARY KEY (account_id, message_id)
      );
      -- Partial indexes: a claim scans only the queued (or sleeping) rows, however many are done.
      CREATE INDEX media_jobs_queued ON media_jobs (account_id, queue_key, message_id) WHERE queue_key IS NOT NULL;
      CREATE INDEX media_jobs_waking ON media_jobs (account_id, wake_at, message_id) WHERE wake_at IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'groups_and_media_archive_fields',
    sql: `
      -- Groups: the roster (JSON array of {jid, phoneNumber, lid, admin}) and how the group addresses members.
      ALTER TABLE threads ADD COLUMN participants TEXT;
      ALTER TABLE threads ADD COLUMN group_addressing_mode TEXT;
      -- Group messages: the sender's name as known when the message was stored.
      ALTER TABLE messages ADD COLUMN sender_name TEXT;
      -- The media archive's result on the message (written by the archive runner only).
      ALTER TABLE messages ADD COLUMN media_archived_at INTEGER;
      ALTER TABLE messages ADD COLUMN media_sha256 TEXT;
      ALTER TABLE messages ADD COLUMN media_archive_key TEXT;
      ALTER TABLE messages ADD COLUMN media_archive_error TEXT;
    `,
  },
  {
    version: 4,
    name: 'change_log_and_webhooks',
    sql: `
      -- The change log (src/store/change-log.ts): one row per committed batch of events, numbered per
      -- account without gaps, written in the same transaction as the change it describes.
      CREATE TABLE change_log (
        account_id    TEXT    NOT NULL,
        seq           INTEGER NOT NULL,
        committed_at  INTEGER NOT NULL,
        events        TEXT    NOT NULL,  -- JSON array of events
        PRIMARY KEY (account_id, seq)
      );
      CREATE INDEX change_log_by_time ON change_log (committed_at);
      -- Each account's last batch number: the next one is this + 1.
      CREATE TABLE change_log_heads (
        account_id  TEXT    PRIMARY KEY,
        seq         INTEGER NOT NULL
      );
      -- 'epoch': a random id of this database's log, carried by every cursor.
      CREATE TABLE change_log_meta (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
      );
      INSERT INTO change_log_meta (key, value) VALUES ('epoch', lower(hex(randomblob(8))));
      -- Single-use keys (websocket tickets), until they expire.
      CREATE TABLE single_use (
        key         TEXT    PRIMARY KEY,
        expires_at  INTEGER NOT NULL
      );
      CREATE INDEX single_use_by_expiry ON single_use (expires_at);
      -- Webhook endpoints with their delivery state (src/store/webhooks.ts), one JSON document each.
      CREATE TABLE webhooks (
        id    TEXT PRIMARY KEY,
        data  TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'instance_registry',
    sql: `
      -- The instance registry (src/store/instances.ts). SQLite runs one instance per file (the data
      -- directory lock), so this holds that one instance's heartbeat: the API shows it like a fleet's.
      CREATE TABLE instances (
        instance_id   TEXT    PRIMARY KEY,
        data          TEXT    NOT NULL,  -- JSON InstanceRecord
        heartbeat_at  INTEGER NOT NULL
      );
    `,
  },
];

/** Applies every migration the database has not seen yet; returns the versions applied by this call. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS, now = Date.now()): number[] {
  assertOrdered(migrations);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    applied_at  INTEGER NOT NULL
  )`);

  const latestKnown = migrations.length > 0 ? migrations[migrations.length - 1]!.version : 0;
  const newest = db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').get();
  if (newest?.v != null && newest.v > latestKnown) {
    // Running old code against a newer schema would silently write rows the new code does not expect.
    throw new StoreError(`database schema version ${newest.v} is newer than this build knows (${latestKnown})`);
  }

  const isApplied = db.prepare<[number], { one: number }>('SELECT 1 AS one FROM schema_migrations WHERE version = ?');
  const record = db.prepare<[number, string, number]>('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const migration of migrations) {
    db.transaction(() => {
      if (isApplied.get(migration.version)) return;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, now);
      applied.push(migration.version);
    }).immediate();
  }
  return applied;
}

function assertOrdered(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= previous) {
      throw new StoreError(`migration versions must be strictly increasing integers (at ${m.name})`);
    }
    previous = m.version;
  }
}
