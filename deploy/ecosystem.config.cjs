// wasync under pm2: one process per instance, each with its own INSTANCE_ID (the lease holder) and port.
//   cp deploy/env.example .env && chmod 600 .env     # then edit
//   npm ci && npm run build
//   pm2 start deploy/ecosystem.config.cjs             # one instance on SQLite
//   WASYNC_INSTANCES=wa-1,wa-2 pm2 start deploy/ecosystem.config.cjs   # two on Firestore (STORE=firestore in .env)
//   pm2 save && pm2 startup                           # survive reboots
// Environment: the .env file (WASYNC_ENV_FILE to use another), parsed here with Node's own dotenv
// parser; per instance INSTANCE_ID, PORT (PORT from the file + 0, 1, …) and, for several (Firestore),
// INSTANCE_URL: where the others forward commands for its accounts, on this host. Nothing else
// differs. SQLite allows one instance: a second one is refused here, not at 3 a.m.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseEnv } = require('node:util');

const root = path.resolve(__dirname, '..');
const envFile = path.resolve(root, process.env.WASYNC_ENV_FILE || '.env');
if (!fs.existsSync(envFile)) {
  throw new Error(`wasync: ${envFile} not found: copy deploy/env.example to it (or set WASYNC_ENV_FILE)`);
}
const fileEnv = parseEnv(fs.readFileSync(envFile, 'utf8'));

const ids = (process.env.WASYNC_INSTANCES || fileEnv.INSTANCE_ID || 'wa-1')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (new Set(ids).size !== ids.length) throw new Error(`wasync: WASYNC_INSTANCES has a duplicate id: ${ids.join(',')}`);
const store = fileEnv.STORE || 'sqlite';
if (store !== 'firestore' && ids.length > 1) {
  throw new Error(`wasync: ${ids.length} instances need STORE=firestore; SQLite is one instance (one file, one writer process)`);
}
const basePort = Number(fileEnv.PORT || 8080);
// The instances share this host: they reach one another on loopback unless HOST names one address.
const host = !fileEnv.HOST || fileEnv.HOST === '0.0.0.0' || fileEnv.HOST === '::' ? '127.0.0.1' : fileEnv.HOST;
const urlOf = (port) => ({ INSTANCE_URL: `http://${host.includes(':') ? `[${host}]` : host}:${port}` });
// Above SHUTDOWN_TIMEOUT_MS (30 s by default): pm2 sends SIGINT, the server flushes, then exits.
const flushMs = Number(fileEnv.SHUTDOWN_TIMEOUT_MS || 30000);

module.exports = {
  apps: ids.map((id, i) => ({
    name: ids.length === 1 ? 'wasync' : `wasync-${id}`,
    script: 'dist/src/main.js',
    cwd: root,
    exec_mode: 'fork', // not cluster: instances are distinct processes with their own id and port
    instances: 1,
    // MALLOC_ARENA_MAX=2 unless .env sets it: glibc's malloc arenas, up to 8 per core for the busy
    // threads (an actor per account), each keep what was freed in them (README, Deploy).
    env: { MALLOC_ARENA_MAX: '2', ...fileEnv, INSTANCE_ID: id, PORT: String(basePort + i), ...(ids.length > 1 ? urlOf(basePort + i) : {}) },
    kill_timeout: flushMs + 15000,
    autorestart: true,
    exp_backoff_restart_delay: 1000,
    max_memory_restart: '2G',
    // Logs are JSON lines; pm2 keeps them apart per instance.
    merge_logs: false,
    time: false,
  })),
};
