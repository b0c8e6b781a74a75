import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import type { AccountsService } from '../supervisor/service.js';
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
  /** The two list endpoints' read path: inline (`inlineReads(store)`) or through the piscina read pool. */
  reads: ConversationReads;
  accounts: AccountsService;
  /** Bearer token for every route but `/health`, `/ready` and `/metrics`. */
  apiToken: string;
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
}
