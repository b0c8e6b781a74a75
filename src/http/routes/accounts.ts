import type { QrView } from '../../supervisor/service.js';
import { jsonReply } from '../respond.js';
import { route, type Route } from '../router.js';
import * as S from '../schemas/accounts.js';
import { serializeAccountView } from '../serialize.js';

/**
 * Everything the accounts service answers: account lifecycle, pairing, the manual backfill trigger and
 * sends. These go through the supervisor, which owns the actors; nothing here touches the store.
 */

/** The service already renders the PNG data URL; the route only picks the fields it answers with. */
function qrBody(view: QrView): Record<string, unknown> {
  return { success: true, accountId: view.accountId, connection: view.connection, qr: view.qr, qrDataUrl: view.qrDataUrl };
}

export const accountRoutes: readonly Route[] = [
  route('get', '/api/whatsapp/accounts', { scope: 'read', account: 'filter', schema: S.listAccounts }, async ({ deps, principal }) => {
    // A key limited to some accounts sees only those.
    const views = (await deps.accounts.list()).filter((v) => principal?.accounts?.has(v.account.id) ?? true);
    return jsonReply(200, { success: true, accounts: views.map(serializeAccountView), count: views.length });
  }),

  route('post', '/api/whatsapp/accounts', { scope: 'admin', account: 'none', schema: S.createAccount }, async ({ deps, body }) => {
    const view = await deps.accounts.create(body.accountId === undefined ? {} : { accountId: body.accountId });
    return jsonReply(201, { success: true, account: serializeAccountView(view) });
  }),

  route('get', '/api/whatsapp/accounts/:accountId', { scope: 'read', account: 'param', schema: S.getAccount }, async ({ deps, params }) => {
    const view = await deps.accounts.get(params.accountId);
    return jsonReply(200, { success: true, account: serializeAccountView(view) });
  }),

  route(
    'delete',
    '/api/whatsapp/accounts/:accountId',
    { scope: 'admin', account: 'param', schema: S.deleteAccount },
    async ({ deps, params, query }) => {
      const purge = query.purge ?? false;
      await deps.accounts.remove(params.accountId, { purge });
      return jsonReply(200, { success: true, accountId: params.accountId, purged: purge });
    },
  ),

  route(
    'post',
    '/api/whatsapp/accounts/:accountId/regenerate-qr',
    { scope: 'admin', account: 'param', schema: S.regenerateQr },
    async ({ deps, params }) => {
      return jsonReply(200, qrBody(await deps.accounts.regenerateQr(params.accountId)));
    },
  ),

  route('get', '/api/whatsapp/accounts/:accountId/qr', { scope: 'admin', account: 'param', schema: S.getQr }, async ({ deps, params }) => {
    return jsonReply(200, qrBody(await deps.accounts.getQr(params.accountId)));
  }),

  route(
    'post',
    '/api/whatsapp/accounts/:accountId/pairing-code',
    { scope: 'admin', account: 'param', schema: S.requestPairingCode },
    async ({ deps, params, body }) => {
      // The schema allows a leading `+`; the service takes digits only.
      const phoneNumber = body.phoneNumber.replace(/^\+/, '');
      const { code } = await deps.accounts.requestPairingCode(params.accountId, phoneNumber);
      return jsonReply(200, { success: true, code });
    },
  ),

  // The runbook's manual trigger (README, API) answers as soon as the backfill has started; results land on the account.
  route(
    'post',
    '/api/whatsapp/backfill/:accountId',
    { scope: 'admin', account: 'param', schema: S.startBackfill },
    async ({ deps, params }) => {
      await deps.accounts.startBackfill(params.accountId);
      return jsonReply(200, {
        success: true,
        message: 'Backfill started (runs asynchronously)',
        accountId: params.accountId,
      });
    },
  ),

  route('post', '/api/whatsapp/send', { scope: 'send', account: 'body', schema: S.sendMessage }, async ({ deps, body }) => {
    const { messageId } = body;
    const result = await deps.accounts.send({
      accountId: body.accountId,
      to: body.to.trim(),
      text: body.text,
      ...(messageId === undefined || messageId === null ? {} : { messageId }),
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
