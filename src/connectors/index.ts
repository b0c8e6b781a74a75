import type { Config } from '../config/index.js';
import type { Logger } from '../logging/logger.js';
import type { SettingsStore } from '../store/settings.js';
import type { ProtocolVersionService } from './protocol-version.js';
import type { Connector } from './types.js';

export type { Connector, ConnectorContext, WaSocket } from './types.js';
export type { ProtocolVersionService, ProtocolVersionStatus, ProtocolVersionSource } from './protocol-version.js';

/** Lazily imported: the simulated phone never loads the WhatsApp transport and vice versa. */
export async function createConnector(config: Config): Promise<Connector> {
  if (config.WA_CONNECTOR === 'sim') {
    const { simConnectorFromConfig } = await import('./sim/index.js');
    return simConnectorFromConfig(config);
  }
  const { baileysConnectorFromConfig } = await import('./baileys/index.js');
  return baileysConnectorFromConfig(config);
}

/**
 * The main thread's protocol-version service for the configured connector (the WhatsApp Web version
 * for the real one); null for the simulated phone, which talks to no server.
 */
export async function createProtocolVersionService(config: Config, settings: SettingsStore, logger: Logger): Promise<ProtocolVersionService | null> {
  if (config.WA_CONNECTOR === 'sim') return null;
  const { waVersionServiceFromConfig } = await import('./baileys/index.js');
  return waVersionServiceFromConfig(config, settings, logger);
}
