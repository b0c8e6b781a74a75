import { BadRequestError, NotFoundError } from '../../domain/errors.js';
import { type ApiKeyView, parseScopes } from '../../supervisor/api-keys.js';
import type { HttpDeps } from '../deps.js';
import { jsonReply } from '../respond.js';
import { iso } from '../serialize.js';
import { route, type Route } from '../router.js';
import * as S from '../schemas/api-keys.js';

/** API keys (README, API keys): created, listed and revoked by an admin; the secret is shown once. */

function keysOf(deps: HttpDeps): NonNullable<HttpDeps['apiKeys']> {
  if (!deps.apiKeys) throw new NotFoundError('API keys are not enabled on this server');
  return deps.apiKeys;
}

function serializeKey(k: ApiKeyView) {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    accounts: k.accounts,
    createdAt: iso(k.createdAt),
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
  };
}

function optionalName(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 100) throw new BadRequestError('name must be 1-100 characters');
  return value.trim();
}

function optionalAccounts(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000)
    throw new BadRequestError('accounts must be a non-empty array of account ids');
  for (const id of value) {
    if (typeof id !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(id)) throw new BadRequestError('accounts must hold account ids');
  }
  return value as string[];
}

export const apiKeyRoutes: readonly Route[] = [
  route('post', '/api/whatsapp/api-keys', { scope: 'admin', account: 'none', schema: S.createApiKey }, async ({ deps, body }) => {
    // Checked by the schema; the service's own checks stay for callers other than this route.
    const input = body;
    const { key, view } = await keysOf(deps).create({
      name: optionalName(input.name),
      scopes: parseScopes(input.scopes),
      accounts: optionalAccounts(input.accounts),
    });
    return jsonReply(201, { success: true, key, apiKey: serializeKey(view) });
  }),

  route('get', '/api/whatsapp/api-keys', { scope: 'admin', account: 'none', schema: S.listApiKeys }, async ({ deps }) => {
    const keys = await keysOf(deps).list();
    return jsonReply(200, { success: true, apiKeys: keys.map(serializeKey), count: keys.length });
  }),

  route(
    'delete',
    '/api/whatsapp/api-keys/:keyId',
    { scope: 'admin', account: 'none', schema: S.revokeApiKey },
    async ({ deps, params }) => {
      const view = await keysOf(deps).revoke(params.keyId);
      return jsonReply(200, { success: true, apiKey: serializeKey(view) });
    },
  ),
];
