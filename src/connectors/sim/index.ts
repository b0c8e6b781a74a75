import type { Config } from '../../config/index.js';
import type { Connector } from '../types.js';
import { RemoteSimConnector } from './remote/remote-connector.js';
import { SimConnector } from './sim-connector.js';

export { SimConnector, type SimConnectorOptions } from './sim-connector.js';
export { SimPhone, DEFAULT_DELAYS, type SimDelays, type PairingMode, type PhoneScript } from './sim-phone.js';
export {
  parseScenario,
  encodeScenarioEvent,
  encodeScenarioArchive,
  encodeScenarioMeta,
  writeScenarioLine,
  ScenarioError,
  type Scenario,
  type ScenarioEvent,
  type ScenarioMeta,
} from './scenario.js';
export { generateHistory, type GenerateHistoryOptions, type GeneratedHistory } from './history-generator.js';
export { SimWorld, type SimIdentity, type WorldOptions } from './world.js';
export { SimDisconnectError } from './errors.js';
export { SimServer, type SimServerOptions, type SimAccountStats, type SimMessageLog, type SimConnectionLog } from './remote/server.js';
export { RemoteSimConnector } from './remote/remote-connector.js';

/**
 * The sim connector the environment asks for: the shared sim server when `WA_SIM_SERVER` names one,
 * else a phone in this process (`simConnectorFromConfig`).
 */
export function createSimConnector(config: Config): Connector {
  if (config.WA_SIM_SERVER) return new RemoteSimConnector({ serverUrl: config.WA_SIM_SERVER, instance: config.INSTANCE_ID });
  return simConnectorFromConfig(config);
}

/** The in-process sim connector the environment asks for (`WA_SIM_*`, plus `WHATSAPP_SYNC_FULL_HISTORY`). */
export function simConnectorFromConfig(config: Config): SimConnector {
  return new SimConnector({
    chats: config.WA_SIM_CHATS,
    messagesPerChat: config.WA_SIM_MESSAGES_PER_CHAT,
    rate: config.WA_SIM_RATE,
    keepPerChat: config.WA_SIM_KEEP_PER_CHAT,
    ...(config.WA_SIM_SCENARIO ? { scenarioFile: config.WA_SIM_SCENARIO } : {}),
    fullHistory: config.WHATSAPP_SYNC_FULL_HISTORY,
    delays: { pairMs: config.WA_SIM_PAIR_MS, qrMs: config.WA_SIM_QR_MS },
  });
}
