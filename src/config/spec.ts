import os from 'node:os';
import { CHANGE_EVENT_TYPES } from '../domain/change-events.js';
import { baseUrl, bool, envTag, httpUrl, identifier, int, key32, listOf, oneOf, origins, text, waVersion, type Parser } from './parsers.js';

/**
 * Every environment variable wasync reads. Names and defaults of the runbook's variables (README, Configuration) are a public
 * contract (operator runbook, auto-backfill summary): keep them exactly. The README's configuration
 * table is checked against this list by a test.
 */
export interface VarSpec<T> {
  parser: Parser<T>;
  /** Raw default, or a function for computed defaults; undefined = optional, no default. */
  default?: string | (() => string);
  doc: string;
  /** Never echoed back in errors or logs. */
  secret?: boolean;
}

const MS = int(1);

export const ENV_SPEC = {
  // The operator runbook's variables
  WHATSAPP_SYNC_FULL_HISTORY: { parser: bool, default: 'true', doc: 'Ask the phone for the full history at pairing (`syncFullHistory`).' },
  WHATSAPP_BACKFILL_COUNT: { parser: int(1, 10_000), default: '100', doc: 'Maximum messages to backfill per thread.' },
  WHATSAPP_BACKFILL_THREADS: { parser: int(1, 100_000), default: '50', doc: 'Maximum threads to process during a backfill.' },
  WHATSAPP_HISTORY_SYNC_DRY_RUN: { parser: bool, default: 'false', doc: 'Count history-sync messages but write none of them.' },

  // Automatic backfill and recent sync (README)
  AUTO_BACKFILL_ENABLED: { parser: bool, default: 'true', doc: 'Backfill on connect and periodically.' },
  AUTO_BACKFILL_INTERVAL_MS: { parser: MS, default: '720000', doc: 'Auto-backfill tick interval (12 min).' },
  AUTO_BACKFILL_COOLDOWN_SUCCESS_MS: {
    parser: int(0),
    default: '21600000',
    doc: 'Skip an account whose last success is this recent (6 h).',
  },
  AUTO_BACKFILL_ATTEMPT_BACKOFF_MS: { parser: int(0), default: '600000', doc: 'Wait this long to retry after a failed attempt (10 min).' },
  AUTO_BACKFILL_LEASE_MS: { parser: MS, default: '900000', doc: 'Per-account backfill lease duration (15 min).' },
  AUTO_BACKFILL_MAX_ACCOUNTS_PER_TICK: { parser: int(1), default: '3', doc: 'Accounts started per tick.' },
  AUTO_BACKFILL_MAX_CONCURRENCY: { parser: int(1), default: '1', doc: 'Concurrent backfills per instance.' },
  INSTANCE_ID: {
    parser: identifier,
    default: () => `${os.hostname()}-${process.pid}`,
    doc: 'Instance id used as lease holder and in logs (`hostname-pid`).',
  },
  RECENT_SYNC_ENABLED: { parser: bool, default: 'true', doc: 'Run the recent-sync gap filler.' },
  RECENT_SYNC_INTERVAL_MS: { parser: MS, default: '120000', doc: 'Gap-filler interval (2 min).' },
  RECENT_SYNC_MAX_THREADS: { parser: int(1), default: '30', doc: 'Threads per gap-filler tick.' },
  RECENT_SYNC_MAX_MESSAGES_PER_THREAD: { parser: int(1), default: '20', doc: 'Messages per thread per gap-filler tick.' },
  RECENT_SYNC_LEASE_MS: { parser: MS, default: '300000', doc: 'Per-account gap-filler lease (5 min).' },
  FIREBASE_SERVICE_ACCOUNT_JSON: {
    parser: text,
    doc: 'Firestore credentials: the service-account JSON itself or a path to it (else application default credentials).',
    secret: true,
  },

  // wasync
  PORT: { parser: int(0, 65535), default: '8080', doc: 'HTTP port (API, websocket feed, /metrics).' },
  HOST: { parser: text, default: '0.0.0.0', doc: 'Address to listen on.' },
  DATA_DIR: { parser: text, default: './data', doc: 'Where the SQLite file (`wasync.db`) and the generated API token live.' },
  STORE: { parser: oneOf(['sqlite', 'firestore'] as const), default: 'sqlite', doc: 'Storage backend.' },
  API_TOKEN: {
    parser: text,
    doc: 'Bearer token for `/api/*`. Unset: a random one is generated once and kept in `DATA_DIR/api-token` (mode 0600).',
    secret: true,
  },
  WASYNC_ENV: { parser: envTag, default: 'prod', doc: 'The `{env}` part of generated account ids (`account_{env}_{random}`).' },
  LOG_LEVEL: {
    parser: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    default: 'info',
    doc: 'pino log level.',
  },
  LOG_FORMAT: {
    parser: oneOf(['auto', 'json', 'pretty'] as const),
    default: 'auto',
    doc:
      '`json` (one pino JSON object a line), `pretty` (human-readable, pino-pretty) ' +
      'or `auto` (pretty when stdout is a terminal, else JSON).',
  },
  WA_CONNECTOR: {
    parser: oneOf(['baileys', 'sim'] as const),
    default: 'baileys',
    doc: '`baileys` (real WhatsApp) or `sim` (the simulated phone).',
  },
  WA_SIM_CHATS: { parser: int(0, 100_000), default: '20', doc: 'Simulated phone: chats in the generated history.' },
  WA_SIM_MESSAGES_PER_CHAT: {
    parser: int(0, 1_000_000),
    default: '50',
    doc: 'Simulated phone: messages per chat in the generated history.',
  },
  WA_SIM_RATE: { parser: int(0, 100_000), default: '0', doc: 'Simulated phone: live inbound messages per second (0 = none).' },
  WA_SIM_KEEP_PER_CHAT: {
    parser: int(0, 10_000_000),
    default: '200',
    doc:
      'Simulated phone: the newest messages of each chat it keeps of what was sent or received live (and a ' +
      "scenario's archive lines), to serve backfills from; 0 = all. The phone runs in the account's worker, " +
      "so its store is wasync's memory.",
  },
  WA_SIM_PAIR_MS: { parser: int(0, 3_600_000), default: '0', doc: 'Simulated phone: how long its QR waits before it pairs (0 = at once).' },
  WA_SIM_QR_MS: {
    parser: int(100, 3_600_000),
    default: '20000',
    doc: 'Simulated phone: a new QR this often while waiting to pair (Baileys rotates every 20 s).',
  },
  WA_SIM_SCENARIO: { parser: text, doc: 'Simulated phone: replay this scenario file (JSON lines) instead of generating.' },
  WA_SIM_SERVER: {
    parser: baseUrl,
    doc:
      'Simulated phone: connect to this shared sim server (`npm run sim-server`) instead of an in-process phone, ' +
      'so that several processes see one simulated WhatsApp (440 on a second connection, offline queue).',
  },
  WA_DEMO: { parser: bool, default: 'false', doc: 'Create a `demo` account at start-up if it does not exist.' },
  WA_RECORD_DIR: { parser: text, doc: 'Append every event the real socket emits to a scenario file here (secrets left out).' },
  AUTH_STATE_KEY: { parser: key32, doc: 'Encrypt Baileys creds and keys at rest with AES-256-GCM (32 bytes, base64).', secret: true },
  READ_POOL_THREADS: {
    parser: int(0, 64),
    default: '2',
    doc: 'SQLite only: piscina threads serving the thread/message list reads off the HTTP thread (0 = read inline).',
  },
  READ_CACHE_MB: {
    parser: int(0, 4096),
    default: '32',
    doc: 'SQLite only: MiB of thread and message list pages kept on the HTTP thread, served while nothing was committed since (0 = off).',
  },
  BATCH_MAX_OPS: { parser: int(1, 500), default: '500', doc: 'Batch writer: flush at this many operations (500 = Firestore batch limit).' },
  BATCH_FLUSH_MS: { parser: int(0, 60_000), default: '50', doc: 'Batch writer: flush a partial batch after this delay.' },
  SHUTDOWN_TIMEOUT_MS: {
    parser: int(0),
    default: '30000',
    doc: 'The whole shutdown, flushing pending writes included, ends within this (runbook: 30 s).',
  },
  ACTOR_MAX_RESTARTS: {
    parser: int(0),
    default: '5',
    doc: 'Restart intensity: more restarts than this within ACTOR_RESTART_WINDOW_MS marks the account failed.',
  },
  ACTOR_RESTART_WINDOW_MS: { parser: MS, default: '60000', doc: 'Restart intensity window.' },
  ACTOR_BACKOFF_BASE_MS: { parser: int(0), default: '500', doc: 'First restart delay; doubles per restart, with jitter.' },
  ACTOR_BACKOFF_MAX_MS: { parser: int(0), default: '30000', doc: 'Restart delay cap.' },
  ACTOR_MAX_OLD_GENERATION_MB: {
    parser: int(64, 16_384),
    default: '1024',
    doc:
      "Heap limit of one account's worker (V8 old generation, MiB): a runaway actor dies alone and is " +
      'restarted instead of taking the process. A 100,000-message history held at once takes about ' +
      '330 MiB (docs/benchmarks.md, Footprint); only what is used costs memory.',
  },
  ACTOR_MAX_YOUNG_GENERATION_MB: {
    parser: int(1, 1_024),
    default: '4',
    doc:
      "Young-generation size of one account's worker (MiB): V8's default is sized for one big heap and " +
      'costs each worker tens of MiB of RSS; a small one keeps the footprint per account low.',
  },
  ACTOR_NICE: {
    parser: int(0, 19),
    default: '0',
    doc:
      "Linux: nice value of each account's worker thread (0 = as the main thread). Above 0 (5 was measured) " +
      'the main thread (API, websocket feed, /metrics) goes first when the cores are busy; actors catch up when they are not.',
  },
  ACTOR_START_CONCURRENCY: {
    parser: int(1, 1_000),
    default: '4',
    doc:
      'Actors one instance starts at once, each holding its slot until its connection opens or needs a person; ' +
      'the rest queue. Applies to every start: the stored accounts at start-up, a takeover of a dead ' +
      "instance's accounts, new and re-paired accounts (so lease renewals and the API keep their CPU).",
  },
  ACTOR_START_JITTER_MS: {
    parser: int(0, 60_000),
    default: '250',
    doc: 'A random delay up to this before each queued actor start (spreads reconnects).',
  },
  ACTOR_START_TIMEOUT_MS: {
    parser: int(0),
    default: '30000',
    doc: 'An actor that has not connected within this frees its start slot for the next one (0 = no limit).',
  },

  // Reliability and security (README, Health; API keys; CORS)
  SQLITE_BUSY_TIMEOUT_MS: {
    parser: int(0, 1_000),
    default: '5',
    doc:
      'SQLite only: how long one write attempt waits, blocking its thread, for a lock another connection holds; ' +
      'longer waits are retried asynchronously so no actor stalls.',
  },
  STORE_DEGRADED_AFTER_MS: {
    parser: int(100),
    default: '10000',
    doc: '`/health` reports `degraded` (503) when a pending store write is older than this, or while writes are being retried.',
  },
  SEND_STORE_TIMEOUT_MS: {
    parser: int(100, 600_000),
    default: '5000',
    doc:
      'A send whose `queued` row is not committed within this answers 503 STORE_UNAVAILABLE and is not sent ' +
      '(retry with the same messageId).',
  },
  HEALTH_PORT: {
    parser: int(0, 65535),
    doc:
      'Also serve `/health` and `/ready` on this port with a plain HTTP server that speaks HTTP/1.0 ' +
      '(uWebSockets.js answers HTTP/1.0 with 505). Unset: off.',
  },
  CORS_ORIGINS: {
    parser: origins,
    doc: 'Origins allowed to call the API from a browser (comma-separated, or `*`). Unset: no CORS headers (same-origin only).',
  },

  // History-sync progress (README, Data model)
  HISTORY_SYNC_STALL_MS: {
    parser: int(1_000, 86_400_000),
    default: '600000',
    doc:
      'Flag a history sync as stalled (`historySyncStalled`, logged once) after this long without a chunk ' +
      'while connected and not complete (10 min).',
  },
  // Several instances on one Firestore project (README, Running several instances)
  INSTANCE_MODE: {
    parser: oneOf(['active', 'passive'] as const),
    default: 'active',
    doc: '`active` owns accounts; `passive` serves the API and the feed and takes accounts only when no active instance can.',
  },
  INSTANCE_URL: {
    parser: baseUrl,
    doc: 'The URL other instances forward commands to (advertised in the registry). ' + 'Unset: `http://{HOST or hostname}:{PORT}`.',
  },
  MAX_ACCOUNTS_PER_INSTANCE: { parser: int(0), default: '0', doc: 'Accounts one instance owns at most (0 = no cap).' },
  OWNER_LEASE_MS: {
    parser: int(1_000, 3_600_000),
    default: '30000',
    doc: "Owner lease duration: a dead instance's accounts are taken over within this plus one FLEET_TICK_MS.",
  },
  FLEET_TICK_MS: {
    parser: int(100, 600_000),
    default: '5000',
    doc: 'Heartbeat and placement tick (claims, rebalancing); at most a third of OWNER_LEASE_MS.',
  },
  REBALANCE_MAX_MOVES_PER_TICK: {
    parser: int(0, 1_000),
    default: '2',
    doc: 'Accounts one instance hands to a less loaded one per tick (0 = never rebalance).',
  },
  FORWARD_COMMANDS: {
    parser: bool,
    default: 'true',
    doc: 'Forward commands for an account owned by another instance to it; false answers 409 with the owner.',
  },

  // WhatsApp Web version (docs/wa-version.md)
  WA_VERSION: {
    parser: waVersion,
    doc:
      'Pin the WhatsApp Web version the socket announces (`2.3000.x`). ' +
      'Unset: fetched from WhatsApp Web, cached in the store, refreshed every WA_VERSION_REFRESH_MS.',
  },
  WA_VERSION_REFRESH_MS: {
    parser: int(60_000, 604_800_000),
    default: '86400000',
    doc: 'How often the WhatsApp Web version is fetched again (24 h); instances share the cached one.',
  },
  WA_VERSION_FETCH_TIMEOUT_MS: {
    parser: int(100, 60_000),
    default: '5000',
    doc: 'Deadline of one WhatsApp Web version fetch; past it the last known good version is used.',
  },

  // Media archive (docs/media-archive.md)
  MEDIA_ARCHIVE: {
    parser: oneOf(['off', 'fs', 's3'] as const),
    default: 'off',
    doc: 'Keep a copy of media files: `fs` under `DATA_DIR/media`, `s3` in an S3-compatible bucket (also Google Cloud Storage), `off`.',
  },
  MEDIA_ARCHIVE_MAX_BYTES: { parser: int(1), default: '104857600', doc: 'Files larger than this (100 MiB) are not archived.' },
  MEDIA_ARCHIVE_TYPES: {
    parser: listOf(['image', 'video', 'audio', 'document', 'sticker'] as const),
    default: 'image,video,audio,document,sticker',
    doc: 'Message types whose media is archived (comma-separated).',
  },
  MEDIA_ARCHIVE_CONCURRENCY: { parser: int(1, 64), default: '2', doc: 'Media files downloaded and stored at once, per instance.' },
  MEDIA_ARCHIVE_MAX_ATTEMPTS: {
    parser: int(1, 100),
    default: '8',
    doc: 'Attempts per file before it is marked failed (retries back off from 30 s to 6 h).',
  },
  MEDIA_ARCHIVE_S3_BUCKET: { parser: text, doc: '`s3`: the bucket (required).' },
  MEDIA_ARCHIVE_S3_ENDPOINT: {
    parser: text,
    doc: '`s3`: endpoint URL of a non-AWS service, e.g. `https://storage.googleapis.com` (GCS), a MinIO URL. Unset: AWS S3.',
  },
  MEDIA_ARCHIVE_S3_REGION: { parser: text, doc: '`s3`: region. Unset: AWS_REGION, else `us-east-1` (GCS accepts `auto`).' },
  MEDIA_ARCHIVE_S3_PREFIX: { parser: text, default: 'wasync/', doc: '`s3`: key prefix of archived files (`{prefix}sha256/ab/abcd…`).' },
  MEDIA_ARCHIVE_S3_FORCE_PATH_STYLE: {
    parser: bool,
    default: 'false',
    doc: '`s3`: address the bucket in the path (`endpoint/bucket/key`), as MinIO and other self-hosted servers need.',
  },
  MEDIA_ARCHIVE_S3_ACCESS_KEY_ID: {
    parser: text,
    doc: "`s3`: access key id (GCS: an HMAC key). Unset: the AWS SDK's default credential chain.",
    secret: true,
  },
  MEDIA_ARCHIVE_S3_SECRET_ACCESS_KEY: { parser: text, doc: '`s3`: secret access key, with MEDIA_ARCHIVE_S3_ACCESS_KEY_ID.', secret: true },

  // Live events: the websocket feed and webhooks (docs/live-events.md)
  FEED_RETENTION_HOURS: {
    parser: int(1, 8760),
    default: '72',
    doc: 'How long the change log keeps events; resuming from an older cursor answers `resync-required`.',
  },
  FEED_MAX_BUFFERED_KB: {
    parser: int(64, 1_048_576),
    default: '4096',
    doc: 'Websocket feed: a client with more than this waiting to be sent (it reads too slowly) is closed with code 4008.',
  },
  FEED_IDLE_TIMEOUT_SECONDS: {
    parser: int(8, 960),
    default: '60',
    doc: 'Websocket feed: idle connections get pings; one that answers nothing for this long is closed.',
  },
  FEED_TICKET_TTL_SECONDS: {
    parser: int(1, 600),
    default: '30',
    doc: 'Lifetime of a single-use websocket ticket (`POST /api/whatsapp/ws-ticket`).',
  },
  WEBHOOK_URL: {
    parser: httpUrl,
    doc: 'A webhook endpoint for every account, kept as endpoint `env` (needs WEBHOOK_SECRET).',
  },
  WEBHOOK_SECRET: { parser: text, doc: 'The signing secret of WEBHOOK_URL (HMAC-SHA256).', secret: true },
  WEBHOOK_EVENTS: {
    parser: listOf(CHANGE_EVENT_TYPES),
    doc: 'Event types WEBHOOK_URL receives (comma-separated). Unset: every type.',
  },
  WEBHOOK_ALLOW_PRIVATE: {
    parser: bool,
    default: 'false',
    doc: 'Let webhooks reach loopback, private and link-local addresses (cloud metadata addresses stay refused).',
  },
  WEBHOOK_CONNECT_TIMEOUT_MS: { parser: int(100, 60_000), default: '5000', doc: 'Webhook delivery: connection deadline.' },
  WEBHOOK_TIMEOUT_MS: { parser: int(100, 120_000), default: '10000', doc: 'Webhook delivery: deadline for the whole answer.' },
  WEBHOOK_MAX_ATTEMPTS: {
    parser: int(1, 100),
    default: '12',
    doc: 'Attempts of one delivery before its endpoint is parked as failed (redeliver through the API).',
  },
  WEBHOOK_MAX_AGE_HOURS: {
    parser: int(1, 720),
    default: '24',
    doc: 'A delivery still failing this long after its first attempt parks its endpoint as failed.',
  },
  WEBHOOK_RETRY_BASE_MS: {
    parser: int(10, 3_600_000),
    default: '1000',
    doc: 'Webhook retries: first delay, doubled each attempt, with jitter.',
  },
  WEBHOOK_RETRY_MAX_MS: { parser: int(100, 86_400_000), default: '3600000', doc: 'Webhook retries: longest delay (1 h).' },
} satisfies Record<string, VarSpec<unknown>>;

export type EnvName = keyof typeof ENV_SPEC;

/** Rules between variables, checked after each one parsed: each returns what is wrong, or null. */
export const CONFIG_CONSTRAINTS: ReadonlyArray<(c: Config) => string | null> = [
  // Failover is lease + tick only if a dead instance drops out of the registry (3 ticks) before its leases expire.
  (c) =>
    c.FLEET_TICK_MS * 3 > c.OWNER_LEASE_MS
      ? `FLEET_TICK_MS: at most a third of OWNER_LEASE_MS (${c.OWNER_LEASE_MS}), got ${c.FLEET_TICK_MS}`
      : null,
];
type SpecValue<S> = S extends VarSpec<infer T> ? T : never;
type HasDefault<S> = S extends { default: string | (() => string) } ? true : false;

/** The parsed configuration: variables with a default are always present, the others optional. */
export type Config = {
  readonly [K in EnvName]: HasDefault<(typeof ENV_SPEC)[K]> extends true
    ? SpecValue<(typeof ENV_SPEC)[K]>
    : SpecValue<(typeof ENV_SPEC)[K]> | undefined;
};
