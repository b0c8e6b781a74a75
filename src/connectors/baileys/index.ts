export { BaileysConnector, baileysConnectorFromConfig, type BaileysConnectorOptions } from './baileys-connector.js';
export { useStoreAuthState, SIGNAL_KEY_TYPES, type StoreAuthState, type StoreAuthStateOptions } from './auth-state.js';
export {
  baileysMedia,
  downloadStoredMedia,
  isMediaCapable,
  storedMediaMessage,
  type MediaCapableSocket,
  type StoredMedia,
} from './media.js';
export { baileysTraits } from './traits.js';
export { buildSocketConfig, baileysLogLevel, acceptEveryHistoryChunk } from './socket-config.js';
export type { SessionRecorder } from './recorder.js';
