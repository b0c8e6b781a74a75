/**
 * The protocol version a connector announces to its service, as the rest of wasync sees it: the
 * dashboard, the metrics and the logs read this without knowing which connector runs. The real
 * connector reports the WhatsApp Web version (src/connectors/baileys/wa-version.ts); the simulated
 * phone has none. A plain data shape, so every layer above the domain may name it (the service that
 * produces it is `ProtocolVersionService`, src/connectors/protocol-version.ts).
 */
export type ProtocolVersionSource = 'fetched' | 'cached' | 'pinned' | 'bundled';

export interface ProtocolVersionStatus {
  /** `2.3000.1023456789` */
  version: string;
  /**
   * `fetched` by this process, `cached` (fetched by an earlier run or another instance), `pinned`
   * (WA_VERSION), `bundled` (the library's own).
   */
  source: ProtocolVersionSource;
  /** Epoch ms when WhatsApp last confirmed this version; null for pinned and bundled. */
  fetchedAt: number | null;
  /** Seconds since `fetchedAt`; null when unknown. */
  ageSeconds: number | null;
  /** Epoch ms of this process's last fetch attempt; null if none. */
  checkedAt: number | null;
  /** Why the last fetch failed; null when it succeeded or none was tried. */
  lastError: string | null;
}
