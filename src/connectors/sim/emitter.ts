import { makeEventBuffer } from '@whiskeysockets/baileys';
import type { WaSocket } from '../types.js';

export type SimEventEmitter = WaSocket['ev'];
type BaileysLogger = Parameters<typeof makeEventBuffer>[0];

/**
 * The phone's `ev` is Baileys' own event emitter (`makeEventBuffer`, built on node:events), not a
 * look-alike: `on`/`off`/`emit` behave identically, and so do `process()`, `buffer()`/`flush()` and
 * `destroy()` for consumers that use Baileys' batched API. The sim itself never buffers; it emits
 * each event as Baileys does outside its initial-sync buffering window.
 */
export function createSimEventEmitter(logger: BaileysLogger): SimEventEmitter {
  return makeEventBuffer(logger);
}
