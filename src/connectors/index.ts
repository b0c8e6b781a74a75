import type { Config } from '../config/index.js';
import type { Logger } from '../logging/logger.js';
import type { SettingsStore } from '../store/settings.js';
import type { ProtocolVersionService } from './protocol-version.js';
import type { Connector, ConnectorTraits } from './types.js';

export type { Connector, ConnectorContext, ConnectorKind, ConnectorMedia, ConnectorTraits, WaSocket } from './types.js';
export type { ProtocolVersionService, ProtocolVersionSource, ProtocolVersionStatus } from './protocol-version.js';

/**
 * The only place that knows which connector is which: everything above `src/connectors/` works with
 * the `Connector` (actors) or its `ConnectorTraits` (the supervisor's media and QR printing).
 * Lazily imported: the simulated phone never loads the WhatsApp transport and vice versa.
 */
export async function createConnector(config: Config): Promise<Connector> {
  if (config.WA_CONNECTOR === 'sim') {
    const { createSimConnector } = await import('./sim/index.js');
    return createSimConnector(config);
  }
  const { baileysConnectorFromConfig } = await import('./baileys/index.js');
  return baileysConnectorFromConfig(config);
}

/**
 * The traits of the connector an account runs on (its record's `connector`). A kind this version does
 * not know (a record written by a later one) gets the real connector's: its media is real WhatsApp media.
 */
export async function connectorTraits(kind: string | undefined): Promise<ConnectorTraits> {
  if (kind === 'sim') return (await import('./sim/traits.js')).simTraits;
  return (await import('./baileys/traits.js')).baileysTraits;
}

/**
 * The main thread's protocol-version service for the configured connector (the WhatsApp Web version
 * for the real one); null for the simulated phone, which talks to no server.
 */
export async function createProtocolVersionService(
  config: Config,
  settings: SettingsStore,
  logger: Logger,
): Promise<ProtocolVersionService | null> {
  if (config.WA_CONNECTOR === 'sim') return null;
  const { waVersionServiceFromConfig } = await import('./baileys/index.js');
  return waVersionServiceFromConfig(config, settings, logger);
}
