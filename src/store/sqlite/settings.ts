import type Database from 'better-sqlite3';
import { decodeSettingValue, type SettingEntry } from '../settings.js';

/** Settings on SQLite (table `settings`, migration 2): one row per key, the value as JSON text. */
export class SqliteSettings {
  private readonly select: Database.Statement<[string], { value: string; updated_at: number }>;
  private readonly upsert: Database.Statement<[string, string, number]>;
  private readonly remove: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.select = db.prepare('SELECT value, updated_at FROM settings WHERE key = ?');
    this.upsert = db.prepare(
      'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    );
    this.remove = db.prepare('DELETE FROM settings WHERE key = ?');
  }

  get(key: string): SettingEntry | null {
    const row = this.select.get(key);
    return row ? { key, value: decodeSettingValue(row.value), updatedAt: row.updated_at } : null;
  }

  put(key: string, json: string, now: number): SettingEntry {
    this.upsert.run(key, json, now);
    return { key, value: decodeSettingValue(json), updatedAt: now };
  }

  delete(key: string): void {
    this.remove.run(key);
  }
}
