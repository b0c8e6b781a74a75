import { Type } from '@sinclair/typebox';
import { SCOPES } from '../../supervisor/api-keys.js';
import { component, errorResponse, Instant, json, Nullable, type RouteSchema, StringEnum, SuccessTrue } from './common.js';
import { SafeId } from './ids.js';

/** API keys (src/http/routes/api-keys.ts; README, API keys). */

const tags = ['API keys'];
const scopesMessage = `scopes must be a non-empty array of ${SCOPES.join(', ')}`;
const accountsMessage = 'accounts must be a non-empty array of account ids';

const Scope = StringEnum(SCOPES, { description: '`read`, `send` or `admin` (`admin` covers the other two).' });

const ApiKey = component(
  'ApiKey',
  Type.Object(
    {
      id: Type.String({ description: 'The key’s id (the part after `wsk_`); revoke it with this.' }),
      name: Nullable(Type.String()),
      scopes: Type.Array(Scope),
      accounts: Nullable(Type.Array(Type.String())),
      createdAt: Instant(),
      lastUsedAt: Instant('Updated at most once a minute.'),
      revokedAt: Instant(),
    },
    { additionalProperties: false, description: 'An API key as listed: never the secret.' },
  ),
);

const KeyIdParams = Type.Object({ keyId: SafeId('keyId', 'The key’s id.') });

export const createApiKey = {
  operationId: 'createApiKey',
  tags,
  summary: 'Create an API key',
  description: 'The key (`wsk_…`) is in the answer this once; only its SHA-256 is stored.',
  body: Type.Object({
    scopes: Type.Array(Scope, { minItems: 1, errorMessage: scopesMessage }),
    accounts: Type.Optional(
      Nullable(
        Type.Array(Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$' }), {
          minItems: 1,
          maxItems: 1000,
          description: 'Only these accounts (absent or null: every account).',
          errorMessage: accountsMessage,
        }),
      ),
    ),
    name: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 100,
          pattern: '\\S',
          description: 'A label.',
          errorMessage: 'name must be 1-100 characters',
        }),
      ),
    ),
  }),
  responses: {
    201: json(
      Type.Object(
        { success: SuccessTrue, key: Type.String({ description: 'The secret, shown this once.' }), apiKey: ApiKey },
        { additionalProperties: false },
      ),
      'Created.',
    ),
    404: errorResponse(404, 'API keys are not enabled on this server.'),
  },
} as const satisfies RouteSchema;

export const listApiKeys = {
  operationId: 'listApiKeys',
  tags,
  summary: 'List API keys',
  description: 'Every key, revoked ones included; never the secret.',
  responses: {
    200: json(
      Type.Object({ success: SuccessTrue, apiKeys: Type.Array(ApiKey), count: Type.Integer() }, { additionalProperties: false }),
      'The keys.',
    ),
    404: errorResponse(404, 'API keys are not enabled on this server.'),
  },
} as const satisfies RouteSchema;

export const revokeApiKey = {
  operationId: 'revokeApiKey',
  tags,
  summary: 'Revoke an API key',
  description: 'Refused at once on this instance, within 5 s on the others.',
  params: KeyIdParams,
  responses: {
    200: json(Type.Object({ success: SuccessTrue, apiKey: ApiKey }, { additionalProperties: false }), 'Revoked.'),
    404: errorResponse(404, 'No such key, or API keys are not enabled on this server.'),
  },
} as const satisfies RouteSchema;
