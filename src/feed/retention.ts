import type { Logger } from '../logging/logger.js';
import type { ChangeLogStore } from '../store/change-log.js';
import type { FeedHub } from './hub.js';

/**
 * FEED_RETENTION_HOURS: deletes change-log batches older than the retention, in the background, a
 * minute after start and then every `everyMs`. Every instance runs it (pruning is idempotent). The hub
 * forgets the same events from its rings, so a cursor older than the retention always answers
 * `resync-required`.
 */
export class FeedRetention {
  private timer: NodeJS.Timeout | null = null;
  private first: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly o: { store: ChangeLogStore; hub: FeedHub; retentionMs: number; everyMs?: number; logger: Logger; now?: () => number },
  ) {}

  start(): void {
    this.first = setTimeout(() => void this.run(), 60_000);
    this.first.unref();
    this.timer = setInterval(() => void this.run(), this.o.everyMs ?? 10 * 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.first) clearTimeout(this.first);
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass now (also for tests): returns the batches deleted. */
  async run(): Promise<number> {
    if (this.running !== null) {
      await this.running;
      return 0;
    }
    let deleted = 0;
    this.running = (async () => {
      const before = (this.o.now ?? Date.now)() - this.o.retentionMs;
      try {
        deleted = await this.o.store.pruneChanges(before);
        this.o.hub.trim(before);
        if (deleted > 0) this.o.logger.info({ deleted }, 'change log pruned');
      } catch (err) {
        this.o.logger.warn({ err }, 'change log pruning failed; retried at the next pass');
      }
    })().finally(() => {
      this.running = null;
    });
    await this.running;
    return deleted;
  }
}
