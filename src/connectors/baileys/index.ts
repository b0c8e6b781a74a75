export {
  BaileysConnector,
  baileysConnectorFromConfig,
  waVersionServiceFromConfig,
  type BaileysConnectorOptions,
} from './baileys-connector.js';
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
export {
  BUNDLED_WA_VERSION,
  WaVersionResolver,
  fetchWaWebVersion,
  formatWaVersion,
  isVersionRejection,
  type WaVersion,
  type WaVersionFetcher,
  type WaVersionSource,
  type WaVersionState,
} from './wa-version.js';
export { WaVersionService } from './wa-version-service.js';
