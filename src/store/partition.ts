import { StoreError } from '../domain/errors.js';
import type { JidMapping, MessageEdit, MessageRevoke, Mutation, StatusUpdate, ThreadNameUpdate } from '../domain/mutations.js';
import type { MessageRecord } from '../domain/records.js';

/** A batch of mutations sorted by kind, each list in arrival order. */
export interface PartitionedMutations {
  names: ThreadNameUpdate[];
  messages: MessageRecord[];
  statuses: StatusUpdate[];
  edits: MessageEdit[];
  revokes: MessageRevoke[];
  mappings: JidMapping[];
}

/**
 * Sorts an `applyMutations` batch by kind, for backends to apply in the port's order (names, messages,
 * receipts, edits, revokes, JID mappings). The whole batch is checked before anything is applied: a
 * mutation of another account would land in this account's rows (thread ids embed the account), so
 * it refuses the batch; `check` adds a backend's own refusals (Firestore: ids it cannot address).
 */
export function partitionMutations(accountId: string, mutations: readonly Mutation[], check?: (m: Mutation) => void): PartitionedMutations {
  const p: PartitionedMutations = { names: [], messages: [], statuses: [], edits: [], revokes: [], mappings: [] };
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
    }
  }
  return p;
}
