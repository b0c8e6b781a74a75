export { openSqliteStore, SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { MIGRATIONS, migrate, type Migration } from './schema.js';
