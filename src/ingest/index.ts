export { MutationCollector, type IngestBatch } from './collector.js';
export {
  classifyContent,
  editOf,
  type MediaProtoFields,
  type ContentEdit,
  type ContentInfo,
  type ContentResult,
  type ContentRevoke,
  type ContentSkip,
  type SkipReason,
} from './content.js';
export { mapChats, mapContacts, mapHistorySet, mapLidMapping, mapMessagesUpdate, mapMessagesUpsert, mapReceipts } from './events.js';
export { historyGroupRoster, mapGroupParticipants, mapGroupsUpdate, mapGroupsUpsert } from './groups.js';
export {
  applyJidMappings,
  canonicalJid,
  isGroupJid,
  isLidJid,
  isPnJid,
  isStatusBroadcast,
  LearningResolver,
  mapResolver,
  normalizeJid,
  STATUS_BROADCAST_JID,
  type JidResolver,
} from './jids.js';
export { mapWAMessage, outboundStatus, type IngestContext, type MapResult } from './message.js';
export { FUTURE_SKEW_MS, msToMillis, toMillis, toMillisOrNull, type WATimestamp } from './timestamps.js';
