import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { buildHistorySync, planHistory, toHistorySetEvent, type HistoryPlanOptions, type HistorySetEvent } from './history-sync.js';
import { SimWorld, type SimIdentity, type WorldOptions } from './world.js';

export interface GenerateHistoryOptions extends WorldOptions, HistoryPlanOptions {}

export interface GeneratedHistory {
  /** The `messaging-history.set` payloads, in delivery order (INITIAL_BOOTSTRAP, RECENT…, FULL…). */
  chunks: HistorySetEvent[];
  /** Older messages only on-demand backfill returns, per chat newest first (`proto.WebMessageInfo`). */
  archive: WAMessage[];
  identity: SimIdentity;
}

/**
 * A whole generated history at once, deterministic for a seed (and `now`): what the simulated phone
 * delivers on connect, for tests and benchmarks that want the payloads without a socket. Every
 * message appears in exactly one chunk; each chat in at least one.
 */
export function generateHistory(opts: GenerateHistoryOptions): GeneratedHistory {
  const world = new SimWorld(opts);
  const chunks = planHistory(world, opts).map((plan, k) => toHistorySetEvent(buildHistorySync(world, plan), { isLatest: k === 0 }));
  const archive: WAMessage[] = [];
  for (let c = 0; c < world.chats.length; c++) {
    for (let i = world.messagesPerChat; i < world.depth; i++) {
      archive.push(proto.WebMessageInfo.fromObject(world.message(c, i)) as WAMessage);
    }
  }
  return { chunks, archive, identity: world.identity };
}
