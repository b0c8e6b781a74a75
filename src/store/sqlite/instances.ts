import type Database from 'better-sqlite3';
import { normalizeInstanceRecord, type InstanceRecord } from '../instances.js';

/** The instance registry on SQLite (table `instances`, migration 3): one JSON row per instance. */
export class SqliteInstances {
  private readonly upsert: Database.Statement<[string, string, number]>;
  private readonly all: Database.Statement<[], { data: string }>;
  private readonly remove: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.upsert = db.prepare(
      'INSERT INTO instances (instance_id, data, heartbeat_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (instance_id) DO UPDATE SET data = excluded.data, heartbeat_at = excluded.heartbeat_at',
    );
    this.all = db.prepare('SELECT data FROM instances ORDER BY instance_id');
    this.remove = db.prepare('DELETE FROM instances WHERE instance_id = ?');
  }

  put(record: InstanceRecord): void {
    this.upsert.run(record.instanceId, JSON.stringify(normalizeInstanceRecord(record)), record.heartbeatAt);
  }

  list(): InstanceRecord[] {
    return this.all.all().map((row) => normalizeInstanceRecord(JSON.parse(row.data) as InstanceRecord));
  }

  delete(instanceId: string): void {
    this.remove.run(instanceId);
  }
}
