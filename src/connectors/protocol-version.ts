import type { ProtocolVersionStatus } from '../domain/protocol-version.js';

export type { ProtocolVersionSource, ProtocolVersionStatus } from '../domain/protocol-version.js';

/** The main thread's side of a connector's protocol version (the real connector: the WhatsApp Web version). */
export interface ProtocolVersionService {
  /** Resolves once (never throws: a failed fetch falls back), then refreshes in the background. */
  start(): Promise<void>;
  stop(): void;
  status(): ProtocolVersionStatus | null;
}
