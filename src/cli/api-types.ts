import type { ConnectionStatus } from '../domain/records.js';

/**
 * The parts of the REST API's answers the CLI reads (README "API"). Declared here rather than
 * imported from the HTTP layer: the CLI is a client of the public contract, not of the server's code.
 */
export interface ApiAccount {
  id: string;
  status?: ConnectionStatus;
  statusReason?: string | null;
  phoneNumber?: string | null;
  displayName?: string | null;
  lastConnectedAt?: string | null;
  historySyncCount?: number;
  lastHistorySyncAt?: string | null;
  historySyncStatus?: string;
  historySyncProgress?: { RECENT: number | null; FULL: number | null };
  historySyncMessagesSaved?: number;
  historySyncStalled?: boolean;
  lastBackfillAt?: string | null;
  lastBackfillResult?: { threads: number; messages: number; errors: number } | null;
  lastRealtimeMessageAt?: string | null;
  lastAutoBackfillStatus?: string | null;
  runtime: {
    actor: string;
    connection: ConnectionStatus;
    reason: string | null;
    restarts: number;
    qrAvailable: boolean;
    me: string | null;
  };
}

export interface QrAnswer {
  accountId: string;
  connection: ConnectionStatus;
  qr: string | null;
}

export interface ApiThread {
  id: string;
  clientJid: string;
  displayName: string | null;
  lastMessageAt: string | null;
  lastMessagePreview: string | null;
}

export interface ApiMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  body: string;
  status: string;
  messageType: string;
  createdAt: string | null;
  pushName?: string | null;
  participant?: string | null;
}

export interface Page {
  count: number;
  nextCursor: string | null;
}

/** Connection states after which waiting for `open` is pointless: someone has to act first. */
export const GIVE_UP_STATES: ReadonlySet<ConnectionStatus> = new Set(['logged_out', 'forbidden', 'replaced', 'stopped', 'failed']);
