import type { QrView } from '../../supervisor/service.js';
import { jsonReply } from '../respond.js';
import { route, type Route } from '../router.js';
import { serializeAccountView } from '../serialize.js';
import {
  bodyId,
  objectBody,
  parseBooleanQuery,
  requiredString,
  validateMessageId,
  validateNewAccountId,
  validatePhoneNumber,
  validateRecipient,
} from '../validate.js';

/**
 * Everything the accounts service answers: account lifecycle, pairing, the manual backfill trigger and
 * sends. These go through the supervisor, which owns the actors; nothing here touches the store.
 */

/** The service already renders the PNG data URL; the route only picks the fields it answers with. */
function qrBody(view: QrView): Record<string, unknown> {
  return { success: true, accountId: view.accountId, connection: view.connection, qr: view.qr, qrDataUrl: view.qrDataUrl };
}

export const accountRoutes: readonly Route[] = [
  route('get', '/api/whatsapp/accounts', { scope: 'read', account: 'filter' }, async ({ deps, principal }) => {
    const views = (await deps.accounts.list()).filter((v) => principal?.accounts?.has(v.account.id) ?? true);
    return jsonReply(200, { success: true, accounts: views.map(serializeAccountView), count: views.length });
  }),

  route('post', '/api/whatsapp/accounts', { scope: 'admin', account: 'none', body: true }, async ({ deps, body }) => {
    const input = objectBody(body, true);
    const accountId = input.accountId === undefined ? undefined : validateNewAccountId(input.accountId);
    const view = await deps.accounts.create(accountId === undefined ? {} : { accountId });
    return jsonReply(201, { success: true, account: serializeAccountView(view) });
  }),

  route('get', '/api/whatsapp/accounts/:accountId', { scope: 'read', account: 'param' }, async ({ deps, params }) => {
    const view = await deps.accounts.get(params.accountId);
    return jsonReply(200, { success: true, account: serializeAccountView(view) });
  }),

  route('delete', '/api/whatsapp/accounts/:accountId', { scope: 'admin', account: 'param' }, async ({ deps, params, query }) => {
    const purge = parseBooleanQuery(query, 'purge', false);
    await deps.accounts.remove(params.accountId, { purge });
    return jsonReply(200, { success: true, accountId: params.accountId, purged: purge });
  }),

  route('post', '/api/whatsapp/accounts/:accountId/regenerate-qr', { scope: 'admin', account: 'param' }, async ({ deps, params }) => {
    return jsonReply(200, qrBody(await deps.accounts.regenerateQr(params.accountId)));
  }),

  route('get', '/api/whatsapp/accounts/:accountId/qr', { scope: 'admin', account: 'param' }, async ({ deps, params }) => {
    return jsonReply(200, qrBody(await deps.accounts.getQr(params.accountId)));
  }),

  route(
    'post',
    '/api/whatsapp/accounts/:accountId/pairing-code',
    { scope: 'admin', account: 'param', body: true },
    async ({ deps, params, body }) => {
      const phoneNumber = validatePhoneNumber(objectBody(body, false).phoneNumber);
      const { code } = await deps.accounts.requestPairingCode(params.accountId, phoneNumber);
      return jsonReply(200, { success: true, code });
    },
  ),

  // The runbook's manual trigger (README, API) answers as soon as the backfill has started; results land on the account.
  route('post', '/api/whatsapp/backfill/:accountId', { scope: 'admin', account: 'param' }, async ({ deps, params }) => {
    await deps.accounts.startBackfill(params.accountId);
    return jsonReply(200, {
      success: true,
      message: 'Backfill started (runs asynchronously)',
      accountId: params.accountId,
    });
  }),

  route('post', '/api/whatsapp/send', { scope: 'send', account: 'body', body: true }, async ({ deps, body }) => {
    const input = objectBody(body, false);
    const messageId = validateMessageId(input.messageId);
    const result = await deps.accounts.send({
      accountId: bodyId(input, 'accountId'),
      to: validateRecipient(input.to),
      text: requiredString(input, 'text', { max: 65_536, trimNonEmpty: true }),
      ...(messageId === undefined ? {} : { messageId }),
    });
    return jsonReply(202, {
      success: true,
      messageId: result.messageId,
      threadId: result.threadId,
      clientJid: result.clientJid,
      status: result.status,
    });
  }),
];
