import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import type { ApiKeys } from '../supervisor/api-keys.js';
import type { AccountsService, WriteHealth } from '../supervisor/service.js';
import type { ConversationReads } from './conversation-reads.js';
import type { ProtocolVersionStatus } from '../domain/protocol-version.js';
import type { FeedHub } from '../feed/hub.js';
import type { WebhookAdmin } from '../feed/webhooks/admin.js';
import type { Authenticator } from './auth.js';
import type { FeedSocketMetrics } from './feed-socket.js';
import type { ForwardingOptions } from './forward.js';

/** What the HTTP layer needs from the rest of the process; everything is injected so tests can run it alone. */
export interface HttpDeps {
  /** Reads of threads and messages go straight to the store (no actor hop on the read path). */
  store: Store;
  /**
   * The two list endpoints' read path: inline (`inlineReads(store)`) or through the piscina read pool,
   * behind the response cache in the app (`cachedReads`, src/http/read-cache.ts).
   */
  reads: ConversationReads;
  accounts: AccountsService;
  /** The bootstrap bearer token (an unlimited admin) for every route but `/health`, `/ready` and `/metrics`. */
  apiToken: string;
  /** Scoped API keys (created through the API); absent: only the bootstrap token is accepted. */
  apiKeys?: ApiKeys;
  /** `CORS_ORIGINS`: origins a browser may call the API from (`['*']` any); absent or empty: no CORS headers. */
  corsOrigins?: readonly string[];
  logger: Logger;
  instanceId: string;
  /** Whether this instance runs the periodic jobs (`/ready` reports it; README, Automatic backfill and recent sync). */
  mode: () => 'active' | 'passive';
  /** Prometheus exposition; `/metrics` answers 404 when absent. */
  metrics?: HttpMetrics;
  /** The WhatsApp Web version in use (dashboard `waVersion`); absent or null with the simulated phone. */
  protocolVersion?: () => ProtocolVersionStatus | null;
  /** The operator console's built files; defaults to `dist/web` of the package (`defaultConsoleDir`). */
  consoleDir?: string;
  /** Largest request body accepted; defaults to 64 KiB. */
  maxBodyBytes?: number;
  /** The actors' write path (`/health` degraded while writes wait); absent in route tests without actors. */
  writeHealth?: () => WriteHealth;
  /** The live feed (websocket at /api/whatsapp/ws, tickets, webhooks); absent, those routes answer 404. */
  feed?: FeedDeps;
  /** Commands for accounts another instance owns: forwarded to it, or 409 with the owner. Absent: 409. */
  forwarding?: ForwardingOptions;
}

/** What the websocket feed and the webhook routes need (src/app.ts wires them). */
export interface FeedDeps {
  hub: FeedHub;
  webhooks: WebhookAdmin;
  /** Bearer tokens and websocket tickets (the server's own authenticator, shared with the REST routes). */
  auth: Authenticator;
  maxBufferedBytes: number;
  idleTimeoutSeconds: number;
  metrics?: FeedSocketMetrics;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface HttpMetrics {
  contentType: string;
  render: () => Promise<string>;
  /**
   * Called once per request with the route template (`GET /api/whatsapp/threads/:accountId`, or
   * `unmatched`), never the raw path, so label values stay bounded. Aborted requests report 499.
   */
  observeHttp?: (route: string, method: string, status: number, seconds: number) => void;
  /** Export rows handed to a response (per page, as they go out), by format. */
  observeExportRows?: (format: string, rows: number) => void;
  /** An export ended: `complete`, `aborted` (the client went away) or `failed`. */
  observeExportFinished?: (format: string, result: string) => void;
}
