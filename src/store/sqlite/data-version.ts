import Database from 'better-sqlite3';

/**
 * The store's change token on SQLite (`Store.changeToken`): `PRAGMA data_version` read on a
 * connection of its own that never writes. SQLite documents that the value read on a connection
 * changes whenever another connection (any thread or process) commits to the database, and stays put
 * for the connection's own commits: so the probe needs its own, read-only connection, and then every
 * commit of the store's connections (the actors', the HTTP thread's, the CLI's) moves it. In WAL mode
 * each read of the pragma starts a read transaction, which is where SQLite notices a changed WAL
 * (about 3 µs). A checkpoint moves it too: harmless, a reader only recomputes once more.
 *
 * Opened on first use, on the thread that reads it (a better-sqlite3 connection belongs to its thread).
 */
export class DataVersionProbe {
  private db: Database.Database | null = null;
  private read: Database.Statement<[], number> | null = null;

  constructor(private readonly file: string) {}

  current(): number {
    if (!this.read) {
      this.db = new Database(this.file, { readonly: true, fileMustExist: true });
      this.read = this.db.prepare<[], number>('PRAGMA data_version').pluck();
    }
    return this.read.get()!;
  }

  close(): void {
    this.read = null;
    this.db?.close();
    this.db = null;
  }
}
