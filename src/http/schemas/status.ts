import { Type } from '@sinclair/typebox';
import { component, ErrorEnvelope, errorResponse, Instant, json, Nullable, type RouteSchema, StringEnum, SuccessTrue } from './common.js';
import { DashboardAccountSchema, RealtimeDiagSchema } from './records.js';

/** Probes, diagnostics, the dashboard summary and metrics (src/http/routes/status.ts). */

const tags = ['Operations'];

const HealthStatus = ['ok', 'degraded', 'error'] as const;

const Health = component(
  'Health',
  Type.Object(
    {
      status: StringEnum(HealthStatus, {
        description: '`ok`; `degraded`: the store answers but writes wait or are retried; `error`: the store is unreachable.',
      }),
      reasons: Type.Optional(
        Type.Array(Type.String(), { description: 'Why it is not `ok`, in words (no account ids); absent when `ok`.' }),
      ),
      store: Type.Object(
        {
          backend: StringEnum(['sqlite', 'firestore'] as const),
          status: StringEnum(HealthStatus),
          latencyMs: Type.Number(),
          pendingWrites: Type.Optional(Type.Integer({ description: 'Operations the actors hold that the store has not committed yet.' })),
          oldestPendingWriteMs: Type.Optional(Type.Number({ description: 'Age of the oldest of them.' })),
          retryingAccounts: Type.Optional(Type.Integer({ description: 'Accounts whose writer is retrying a failed write now.' })),
        },
        { additionalProperties: false },
      ),
      firestore: Type.Optional(
        Type.Object(
          { status: StringEnum(HealthStatus) },
          { additionalProperties: false, description: 'With `STORE=firestore` (the runbook’s `jq .firestore.status`).' },
        ),
      ),
      uptimeSeconds: Type.Integer(),
    },
    { additionalProperties: false },
  ),
);

export const getHealth = {
  operationId: 'getHealth',
  tags,
  summary: 'Liveness and store health',
  description: 'Open (no token). The store’s details stay in the log.',
  responses: {
    200: json(Health, 'The store answers and writes commit (`ok`).'),
    503: json(
      Type.Union([Health, ErrorEnvelope]),
      '`degraded` (writes wait or are retried; `reasons` say why) or `error` (the store is unreachable or did not answer within 5 s); ' +
        'or the server is shutting down (`SHUTTING_DOWN`, the error envelope).',
    ),
  },
} as const satisfies RouteSchema;

export const getReady = {
  operationId: 'getReady',
  tags,
  summary: 'Readiness',
  description: 'Open (no token). `mode`: whether this instance runs the periodic jobs (`active`) or not (`passive`).',
  responses: {
    200: json(
      Type.Object(
        { ready: Type.Literal(true), mode: StringEnum(['active', 'passive'] as const), instanceId: Type.String() },
        { additionalProperties: false },
      ),
      'Ready.',
    ),
  },
} as const satisfies RouteSchema;

export const getMetrics = {
  operationId: 'getMetrics',
  tags,
  summary: 'Prometheus metrics',
  description: 'Open (no token). Prometheus text exposition format (README, API).',
  responses: {
    200: { description: 'The metrics.', contentType: 'text/plain', schema: Type.String() },
    404: errorResponse(404, 'Metrics are not enabled.'),
  },
} as const satisfies RouteSchema;

export const getDiag = {
  operationId: 'getDiag',
  tags,
  summary: 'Realtime diagnostics',
  description: '`latestRealtime` for up to 3 connected accounts, most recent realtime ingest first.',
  responses: {
    200: json(
      Type.Object(
        {
          success: SuccessTrue,
          instanceId: Type.String(),
          mode: StringEnum(['active', 'passive'] as const),
          latestRealtime: Type.Array(RealtimeDiagSchema),
        },
        { additionalProperties: false },
      ),
      'Diagnostics.',
    ),
  },
} as const satisfies RouteSchema;

const WaVersion = Type.Object(
  {
    version: Type.String({ examples: ['2.3000.1023456789'] }),
    source: StringEnum(['fetched', 'cached', 'pinned', 'bundled'] as const),
    fetchedAt: Instant('When WhatsApp last confirmed it; null for pinned and bundled.'),
    ageSeconds: Nullable(Type.Number()),
    checkedAt: Instant(),
    lastError: Nullable(Type.String()),
  },
  { additionalProperties: false, description: 'The WhatsApp Web version the sockets announce.' },
);

const InstanceFields = {
  instanceId: Type.String(),
  url: Nullable(Type.String({ description: 'Where other instances reach it (`INSTANCE_URL`).' })),
  mode: StringEnum(['active', 'passive'] as const),
  state: StringEnum(['running', 'draining'] as const),
  alive: Type.Boolean({ description: 'Heartbeat within three ticks and not draining.' }),
  self: Type.Boolean({ description: 'The instance that answered.' }),
  startedAt: Instant(),
  heartbeatAt: Instant(),
  heartbeatAgeSeconds: Nullable(Type.Number()),
  maxAccounts: Type.Integer(),
  accountCount: Type.Integer(),
};

const InstanceSummary = component('InstanceSummary', Type.Object(InstanceFields, { additionalProperties: false }));

const Instance = component(
  'Instance',
  Type.Object(
    {
      ...InstanceFields,
      accounts: Type.Array(
        Type.Object(
          {
            accountId: Type.String(),
            epoch: Type.Integer(),
            acquiredAt: Instant(),
            until: Instant(),
            leaseAgeSeconds: Nullable(Type.Number()),
            expiresInSeconds: Nullable(Type.Number()),
          },
          { additionalProperties: false },
        ),
        { description: 'The accounts whose valid owner lease it holds.' },
      ),
    },
    { additionalProperties: false },
  ),
);

export const listInstances = {
  operationId: 'listInstances',
  tags,
  summary: 'The fleet: instances and owner leases',
  description:
    'Every instance sharing the store (its registry entry and heartbeat) and the accounts it owns; any instance answers. ' +
    'Scope `admin`: it names every account of the fleet, which a key limited to some accounts may not see.',
  responses: {
    200: json(
      Type.Object(
        {
          success: SuccessTrue,
          self: Type.String({ description: 'The instance that answered.' }),
          mode: StringEnum(['active', 'passive'] as const),
          leaseMs: Type.Integer(),
          tickMs: Type.Integer(),
          instances: Type.Array(Instance),
          count: Type.Integer(),
          unowned: Type.Array(Type.String(), { description: 'Claimable accounts nobody holds a valid owner lease of.' }),
          parked: Type.Array(Type.String(), { description: 'Accounts waiting for a person (logged out, forbidden).' }),
        },
        { additionalProperties: false },
      ),
      'The fleet.',
    ),
  },
} as const satisfies RouteSchema;

export const getDashboard = {
  operationId: 'getDashboard',
  tags,
  summary: 'Dashboard summary',
  description: 'Per account: connection, backfill, history-sync and realtime fields (README, Data model).',
  responses: {
    200: json(
      Type.Object(
        {
          success: SuccessTrue,
          accounts: Type.Array(DashboardAccountSchema),
          count: Type.Integer(),
          waVersion: Type.Union([WaVersion, Type.Null()], { description: 'Null with the simulated phone.' }),
          instanceId: Type.String({ description: 'The instance that answered.' }),
          instances: Type.Array(InstanceSummary, { description: 'The fleet at a glance (`GET /api/whatsapp/instances` has the leases).' }),
        },
        { additionalProperties: false },
      ),
      'The summary.',
    ),
  },
} as const satisfies RouteSchema;
