import type { Contact, WAMessage } from '@whiskeysockets/baileys';
import type { Logger } from '../../../logging/logger.js';
import type { Store } from '../../../store/port.js';
import { renderQrToTerminal } from '../../qr.js';
import type { Connector, ConnectorContext, WaSocket } from '../../types.js';
import { simMedia } from '../media.js';
import { RemotePhone } from './remote-phone.js';

export interface RemoteSimConnectorOptions {
  /** `WA_SIM_SERVER`. */
  serverUrl: string;
  /** `INSTANCE_ID`: named in the server's connection log. */
  instance: string | null;
}

/** What the sim keeps in an account's creds: the session token the server handed out at pairing. */
interface SimCreds {
  v: 1;
  token: string;
  me: string;
  /** Who wrote it last, and when (diagnostics). */
  instance: string | null;
  at: number;
}

/**
 * `WA_CONNECTOR=sim` with `WA_SIM_SERVER`: the simulated phone lives in the shared sim server, so
 * several processes see one WhatsApp. Like the real connector, the session lives in the store: the
 * token from pairing is written to the creds on every connection (Baileys writes its creds on each
 * too), and every batch of inbound messages moves a per-chat ratchet in the signal keys (Signal
 * sessions move with every message). Both writes go through the store the actor hands over, which
 * carries the owner's fence: a superseded owner's writes are refused, as they would be for Baileys'.
 */
export class RemoteSimConnector implements Connector {
  readonly kind = 'sim' as const;
  readonly media = simMedia;
  private readonly sessions = new Map<string, SimSession>();

  constructor(private readonly opts: RemoteSimConnectorOptions) {}

  renderQr(qr: string): Promise<string> {
    return renderQrToTerminal(qr);
  }

  async connect(ctx: ConnectorContext): Promise<WaSocket> {
    const session = new SimSession(ctx.store, ctx.accountId, this.opts.instance, ctx.logger);
    this.sessions.set(ctx.accountId, session);
    const token = await session.token();
    return new RemotePhone({
      serverUrl: this.opts.serverUrl,
      accountId: ctx.accountId,
      token,
      instance: this.opts.instance,
      logger: ctx.logger,
      onOpen: (user, fresh) => session.opened(user, fresh),
      onInbound: (messages) => session.ratchet(messages),
    });
  }

  async settled(accountId: string): Promise<void> {
    await this.sessions.get(accountId)?.idle();
  }
}

/** Per-chat ratchet writes are coalesced to one write per this interval (at most one in flight). */
const RATCHET_FLUSH_MS = 100;

class SimSession {
  private tail: Promise<void> = Promise.resolve();
  private readonly pending = new Map<string, number>();
  private readonly counters = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly accountId: string,
    private readonly instance: string | null,
    private readonly log: Logger,
  ) {}

  async token(): Promise<string | null> {
    const bytes = await this.store.readAuthCreds(this.accountId);
    if (!bytes) return null;
    try {
      const creds = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<SimCreds>;
      return typeof creds.token === 'string' ? creds.token : null;
    } catch {
      return null; // creds of another connector: log in anew
    }
  }

  opened(user: Contact, token: string): void {
    const creds: SimCreds = { v: 1, token, me: user.id, instance: this.instance, at: Date.now() };
    this.write('creds', () => this.store.writeAuthCreds(this.accountId, Buffer.from(JSON.stringify(creds))));
  }

  ratchet(messages: readonly WAMessage[]): void {
    for (const m of messages) {
      const chat = m.key.remoteJid;
      if (!chat) continue;
      const n = (this.counters.get(chat) ?? 0) + 1;
      this.counters.set(chat, n);
      this.pending.set(chat, n);
    }
    if (this.timer || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const batch = [...this.pending].map(([chat, n]) => ({ type: 'session', id: chat, value: Buffer.from(JSON.stringify({ n })) }));
      this.pending.clear();
      this.write('session keys', () => this.store.writeAuthKeys(this.accountId, batch));
    }, RATCHET_FLUSH_MS);
  }

  idle(): Promise<void> {
    return this.tail;
  }

  /** In call order; a refused write (LEASE_LOST) has already told the actor, which steps aside. */
  private write(what: string, step: () => Promise<void>): void {
    this.tail = this.tail.then(step).catch((err: unknown) => {
      const code = (err as { code?: unknown }).code;
      if (code === 'LEASE_LOST') this.log.warn({ what }, 'sim session write refused: another instance owns the account');
      else this.log.warn({ what, err: err instanceof Error ? err.message : String(err) }, 'sim session write failed');
    });
  }
}
