import { NotFoundError } from '../../domain/errors.js';
import { isThreadOf } from '../../domain/thread-id.js';
import { EXPORT_CONTENT_TYPES, exportFileName } from '../export-format.js';
import { exportStream, type ExportRequest } from '../export-stream.js';
import type { StreamReply } from '../respond.js';
import { route, type Route } from '../router.js';
import { exportMessages } from '../schemas/export.js';
import { parseInstant } from '../validate.js';

/**
 * `GET /api/whatsapp/export/:accountId?format=jsonl|csv&threadId=…&since=…`: every message of the
 * account (or one thread, or from an instant on), streamed as it is read (README, API: Export).
 * Parameters, account and thread are checked before the first byte, so those errors are proper JSON
 * answers; after that, a failure can only cut the transfer short (chunked encoding without its end).
 */
export const exportRoutes: readonly Route[] = [
  route(
    'get',
    '/api/whatsapp/export/:accountId',
    { scope: 'read', account: 'param', schema: exportMessages },
    async ({ deps, params, query }) => {
      const req: ExportRequest = {
        accountId: params.accountId,
        format: query.format ?? 'jsonl',
        threadId: query.threadId ?? null,
        since: query.since === undefined ? null : parseInstant('since', query.since),
      };
      if (!(await deps.store.getAccount(req.accountId))) throw new NotFoundError(`account ${req.accountId} not found`);
      if (req.threadId !== null) {
        const thread = isThreadOf(req.accountId, req.threadId) ? await deps.store.getThread(req.accountId, req.threadId) : null;
        if (!thread) throw new NotFoundError(`thread ${req.threadId} not found`);
      }
      const started = Date.now();
      const log = deps.logger.child({ component: 'export' });
      const stream = exportStream(deps.store, req, {
        rows: (n) => deps.metrics?.observeExportRows?.(req.format, n),
        finished: (result, rows, err) => {
          deps.metrics?.observeExportFinished?.(req.format, result);
          const fields = { accountId: req.accountId, format: req.format, thread: req.threadId !== null, rows, ms: Date.now() - started };
          if (result === 'failed') log.error({ ...fields, err }, 'export failed');
          else log.info(fields, result === 'complete' ? 'export finished' : 'export stopped: the client went away');
        },
      });
      const reply: StreamReply = {
        status: 200,
        stream,
        contentType: EXPORT_CONTENT_TYPES[req.format],
        headers: { 'content-disposition': `attachment; filename="${exportFileName(req.accountId, req.format, started)}"` },
      };
      return reply;
    },
  ),
];
