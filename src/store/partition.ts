import { StoreError } from '../domain/errors.js';
import type {
  GroupParticipantsUpdate,
  GroupRosterUpdate,
  JidMapping,
  MediaJobEnqueue,
  MessageEdit,
  MessageRevoke,
  Mutation,
  StatusUpdate,
  ThreadNameUpdate,
} from '../domain/mutations.js';
import type { MessageRecord } from '../domain/records.js';

/** A batch of mutations sorted by kind, each list in arrival order. */
export interface PartitionedMutations {
  names: ThreadNameUpdate[];
  /** Rosters and participant updates of groups, in arrival order (an update applies to the roster before it). */
  groups: Array<GroupRosterUpdate | GroupParticipantsUpdate>;
  messages: MessageRecord[];
  /** Media-archive jobs for the batch's (or stored) messages, applied after the messages. */
  mediaJobs: MediaJobEnqueue[];
  statuses: StatusUpdate[];
  edits: MessageEdit[];
  revokes: MessageRevoke[];
  mappings: JidMapping[];
}

/**
 * Sorts an `applyMutations` batch by kind, for backends to apply in the port's order (names, group
 * rosters, messages, receipts, edits, revokes, JID mappings). The whole batch is checked before anything is applied: a
 * mutation of another account would land in this account's rows (thread ids embed the account), so
 * it refuses the batch; `check` adds a backend's own refusals (Firestore: ids it cannot address).
 */
export function partitionMutations(accountId: string, mutations: readonly Mutation[], check?: (m: Mutation) => void): PartitionedMutations {
  const p: PartitionedMutations = {
    names: [],
    groups: [],
    messages: [],
    mediaJobs: [],
    statuses: [],
    edits: [],
    revokes: [],
    mappings: [],
  };
  for (const m of mutations) {
    const owner = m.kind === 'message' ? m.record.accountId : m.accountId;
    if (owner !== accountId) throw new StoreError(`mutation ${m.kind} belongs to account ${owner}, not to ${accountId}`);
    check?.(m);
    switch (m.kind) {
      case 'thread':
        p.names.push(m);
        break;
      case 'message':
        p.messages.push(m.record);
        break;
      case 'status':
        p.statuses.push(m);
        break;
      case 'edit':
        p.edits.push(m);
        break;
      case 'revoke':
        p.revokes.push(m);
        break;
      case 'jid-mapping':
        p.mappings.push(m);
        break;
      case 'group-roster':
      case 'group-participants':
        p.groups.push(m);
        break;
      case 'media-job':
        p.mediaJobs.push(m);
        break;
    }
  }
  return p;
}
