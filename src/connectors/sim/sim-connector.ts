import { readFileSync } from 'node:fs';
import type { Contact } from '@whiskeysockets/baileys';
import { renderQrToTerminal } from '../qr.js';
import type { Connector, ConnectorContext, WaSocket } from '../types.js';
import { simMedia } from './media.js';
import { LidPnPairs, MessageArchive } from './archive.js';
import { planHistory, type HistoryChunkPlan } from './history-sync.js';
import { parseScenario, type Scenario } from './scenario.js';
import { SimPhone, type PairingMode, type SimDelays } from './sim-phone.js';
import { SimWorld } from './world.js';
import { SimGroups } from './groups.js';

export interface SimConnectorOptions {
  /** Replay this scenario file instead of generating a history (read and validated at construction). */
  scenarioFile?: string;
  /** An already parsed scenario (takes precedence over `scenarioFile`). */
  scenario?: Scenario;
  /** Scenario replay speed: 10 replays ten times faster than recorded. Default 1. */
  replaySpeed?: number;
  chats: number;
  messagesPerChat: number;
  /** Live inbound messages per second after the history (0 = none). */
  rate: number;
  /** Seed of the generated world. Default: the account id, so that every account has its own phone. */
  seed?: string;
  /** Live (and scenario archive) messages the phone keeps per chat for backfills; 0 = all. Default 200. */
  keepPerChat?: number;
  /** Older messages per chat for on-demand backfill. Default `floor(messagesPerChat / 2)`. */
  archivePerChat?: number;
  /** End of the generated history, epoch ms (default: start of the current UTC day). */
  now?: number;
  /** Messages per history chunk (default 3000). */
  chunkSize?: number;
  /** Deliver the FULL phase of the history (`WHATSAPP_SYNC_FULL_HISTORY`). Default true. */
  fullHistory?: boolean;
  delays?: Partial<SimDelays>;
  /**
   * `qr` (default): every connection is a fresh login (QR, then open with `isNewLogin`).
   * `restart`: Baileys' real first login — the pairing connection closes with 515 restartRequired and
   * the next connection opens without a QR.
   */
  pairing?: 'qr' | 'restart';
  /** Phones start on `setImmediate` (default true); false leaves `phone.start()` to the caller. */
  autoStart?: boolean;
  /** Each connection stops sending the history after this many chunks (a phone gone quiet mid-sync). */
  historyStopAfter?: number;
}

/** What one account's phone keeps across its connections. */
interface AccountPhone {
  world: SimWorld;
  plan: readonly HistoryChunkPlan[];
  archive: MessageArchive;
  pairs: LidPnPairs;
  groups: SimGroups | null;
  user: Contact;
  connections: number;
  paired: boolean;
}

/**
 * `WA_CONNECTOR=sim`: a simulated phone per account that emits what Baileys 7 emits. Each `connect`
 * returns a fresh `SimPhone` (the actor owns reconnects); the account's world, store and pairings
 * persist across connections, and the phone re-sends its history on every connection, so a restarted
 * actor converges.
 */
export class SimConnector implements Connector {
  readonly kind = 'sim' as const;
  readonly media = simMedia;
  private readonly scenario: Scenario | null;
  private readonly accounts = new Map<string, AccountPhone>();

  constructor(private readonly opts: SimConnectorOptions) {
    if (opts.replaySpeed !== undefined && !(opts.replaySpeed > 0))
      throw new RangeError(`sim connector: replaySpeed must be > 0, got ${opts.replaySpeed}`);
    for (const [name, v] of Object.entries({ chats: opts.chats, messagesPerChat: opts.messagesPerChat, rate: opts.rate })) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`sim connector: ${name} must be a number ≥ 0, got ${v}`);
    }
    for (const [name, v] of Object.entries(opts.delays ?? {})) {
      if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new RangeError(`sim connector: delays.${name} must be ≥ 0, got ${v}`);
    }
    if (opts.scenario) this.scenario = opts.scenario;
    else if (opts.scenarioFile) this.scenario = parseScenario(readFileSync(opts.scenarioFile, 'utf8'), opts.scenarioFile);
    else this.scenario = null;
  }

  renderQr(qr: string): Promise<string> {
    return renderQrToTerminal(qr);
  }

  async connect(ctx: ConnectorContext): Promise<WaSocket> {
    return this.connectPhone(ctx);
  }

  /** `connect` with the concrete type, for callers that want the sim's extras (`start`, `emitScenarioEvent`). */
  connectPhone(ctx: ConnectorContext): SimPhone {
    const account = this.account(ctx.accountId);
    const attempt = account.connections++;
    const pairing: PairingMode = this.opts.pairing === 'restart' ? (account.paired ? 'resume' : 'restart') : 'qr';
    const scenario = this.scenario;
    const script = scenario
      ? {
          kind: 'scenario' as const,
          events: scenario.segments[Math.min(attempt, scenario.segments.length - 1)] ?? [],
          scripted: scenario.scriptedLifecycle,
          speed: this.opts.replaySpeed ?? 1,
        }
      : { kind: 'generated' as const, world: account.world, plan: account.plan, rate: this.opts.rate };
    return new SimPhone({
      user: account.user,
      script,
      archive: account.archive,
      pairs: account.pairs,
      ...(account.groups ? { groups: account.groups } : {}),
      logger: ctx.logger,
      delays: this.opts.delays,
      pairing,
      autoStart: this.opts.autoStart,
      ...(this.opts.historyStopAfter !== undefined ? { historyStopAfter: this.opts.historyStopAfter } : {}),
      onPaired: () => {
        account.paired = true;
      },
      onLoggedOut: () => {
        account.paired = false;
      },
    });
  }

  private account(accountId: string): AccountPhone {
    let account = this.accounts.get(accountId);
    if (account) return account;
    const scenario = this.scenario;
    const world = new SimWorld({
      chats: scenario ? 0 : Math.floor(this.opts.chats),
      messagesPerChat: scenario ? 0 : Math.floor(this.opts.messagesPerChat),
      archivePerChat: this.opts.archivePerChat,
      seed: this.opts.seed ?? accountId,
      now: this.opts.now,
    });
    const archive = new MessageArchive({ keepPerChat: this.opts.keepPerChat });
    const pairs = new LidPnPairs();
    if (scenario) {
      for (const m of scenario.archive) {
        pairs.learnEither(m.key.remoteJid, m.key.remoteJidAlt);
        pairs.learnEither(m.key.participant, m.key.participantAlt);
        archive.add(m);
      }
    }
    const id = world.identity;
    const user: Contact = scenario?.meta?.user
      ? { id: scenario.meta.user.id, name: scenario.meta.user.name, lid: scenario.meta.user.lid }
      : (scenario && recordedUser(scenario)) || { id: id.id, name: id.name, lid: id.lid };
    account = {
      world,
      plan: scenario ? [] : planHistory(world, { chunkSize: this.opts.chunkSize, fullHistory: this.opts.fullHistory }),
      archive,
      pairs,
      groups: scenario ? null : new SimGroups(world),
      user,
      connections: 0,
      paired: false,
    };
    this.accounts.set(accountId, account);
    return account;
  }
}

/**
 * A recording made without a meta line (the real connector's record mode leaves credentials out)
 * still names the account: the phone's history notifications are messages from the account to
 * itself. Without the right own JID a replay would misattribute `fromMe`.
 */
function recordedUser(scenario: Scenario): Contact | undefined {
  for (const segment of scenario.segments) {
    for (const e of segment) {
      if (e.event !== 'messages.upsert') continue;
      const m = e.materialize();
      if (m.event !== 'messages.upsert') continue;
      for (const msg of m.data.messages) {
        if (msg.key.fromMe && msg.message?.protocolMessage?.historySyncNotification && msg.key.remoteJid) {
          return { id: msg.key.remoteJid };
        }
      }
    }
  }
  return undefined;
}
