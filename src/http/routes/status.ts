import { NotFoundError } from '../../domain/errors.js';
import type { StoreHealth } from '../../store/port.js';
import type { WriteHealth } from '../../supervisor/service.js';
import type { HttpDeps } from '../deps.js';
import { jsonReply } from '../respond.js';
import { route, type Route } from '../router.js';
import * as S from '../schemas/status.js';
import { serializeDashboardAccount, serializeFleet, serializeProtocolVersion, serializeRealtimeDiag } from '../serialize.js';

/** Operational endpoints: probes, diagnostics, the dashboard summary and Prometheus metrics. */

/** A hung store must not hang the health probe too: past this, the store counts as down. */
const HEALTH_TIMEOUT_MS = 5_000;

async function storeHealth(deps: HttpDeps): Promise<StoreHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      deps.store.health(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`store health check timed out after ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    deps.logger.warn({ err }, 'store health check failed');
    return { status: 'error', backend: deps.store.backend, latencyMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/** `ok`, `degraded` (reachable, but writes wait or are retried) or `error` (the store is unreachable). */
export function overallStatus(store: StoreHealth['status'], writes: WriteHealth | null): StoreHealth['status'] {
  if (store === 'error') return 'error';
  if (store === 'degraded' || writes?.degraded) return 'degraded';
  return 'ok';
}

/** `GET /diag` lists at most this many connected accounts (README, How to tell if sync is running or blocked). */
const DIAG_ACCOUNTS = 3;

export const statusRoutes: readonly Route[] = [
  route('get', '/health', { open: true, schema: S.getHealth }, async ({ deps }) => {
    const h = await storeHealth(deps);
    // `detail` stays in the log: this route is unauthenticated and it may name files or hosts.
    if (h.status !== 'ok' && h.detail) deps.logger.warn({ detail: h.detail }, 'store unhealthy');
    const writes = deps.writeHealth?.() ?? null;
    const status = overallStatus(h.status, writes);
    const reasons = [
      ...(h.status === 'error' ? ['the store is unreachable'] : h.status === 'degraded' ? ['the store is locked for writing'] : []),
      ...(writes?.reasons ?? []),
    ];
    // The seeds' checks (`curl …/health | jq .firestore.status`, `curl -f`) must see anything but ok as a failure.
    return jsonReply(status === 'ok' ? 200 : 503, {
      status,
      ...(reasons.length > 0 ? { reasons } : {}),
      store: {
        backend: h.backend,
        status: h.status === 'ok' && status === 'degraded' ? 'degraded' : h.status,
        latencyMs: Math.round(h.latencyMs * 100) / 100,
        ...(writes
          ? {
              pendingWrites: writes.pendingWrites,
              oldestPendingWriteMs: writes.oldestPendingWriteMs,
              retryingAccounts: writes.retryingAccounts,
            }
          : {}),
      },
      // The runbook's check is `curl …/health | jq .firestore.status`.
      ...(h.backend === 'firestore' ? { firestore: { status } } : {}),
      uptimeSeconds: Math.floor(process.uptime()),
    });
  }),

  route('get', '/ready', { open: true, schema: S.getReady }, async ({ deps }) => {
    return jsonReply(200, { ready: true, mode: deps.mode(), instanceId: deps.instanceId });
  }),

  route('get', '/metrics', { open: true, schema: S.getMetrics }, async ({ deps }) => {
    if (!deps.metrics) throw new NotFoundError('metrics are not enabled');
    return { status: 200, text: await deps.metrics.render(), contentType: deps.metrics.contentType };
  }),

  // The auto-backfill summary shows `/diag` without a token; it lists account ids and realtime errors, so it sits behind
  // the same bearer token as `/api/*`.
  route('get', '/diag', { scope: 'admin', account: 'none', schema: S.getDiag }, async ({ deps }) => {
    const connected = (await deps.accounts.list())
      .filter((v) => v.runtime.connection === 'open')
      .map((v) => v.account)
      .sort((a, b) => (b.lastRealtimeIngestAt ?? -1) - (a.lastRealtimeIngestAt ?? -1))
      .slice(0, DIAG_ACCOUNTS);
    return jsonReply(200, {
      success: true,
      instanceId: deps.instanceId,
      mode: deps.mode(),
      latestRealtime: connected.map(serializeRealtimeDiag),
    });
  }),

  route('get', '/api/status/dashboard', { scope: 'admin', account: 'none', schema: S.getDashboard }, async ({ deps }) => {
    const [views, fleet] = await Promise.all([deps.accounts.list(), deps.accounts.instances()]);
    const waVersion = deps.protocolVersion?.() ?? null;
    return jsonReply(200, {
      success: true,
      accounts: views.map(serializeDashboardAccount),
      count: views.length,
      waVersion: waVersion ? serializeProtocolVersion(waVersion) : null,
      instanceId: deps.instanceId,
      // The fleet at a glance; GET /api/whatsapp/instances has each instance's accounts and leases.
      instances: serializeFleet(fleet).instances.map(({ accounts: _accounts, ...i }) => i),
    });
  }),

  // Any instance answers: the registry and the owner leases are in the shared store.
  route('get', '/api/whatsapp/instances', { scope: 'admin', account: 'none', schema: S.listInstances }, async ({ deps }) => {
    return jsonReply(200, { success: true, ...serializeFleet(await deps.accounts.instances()) });
  }),
];
