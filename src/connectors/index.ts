import type { Config } from '../config/index.js';
import type { Connector } from './types.js';

export type { Connector, ConnectorContext, WaSocket } from './types.js';

/** Lazily imported: the simulated phone never loads the WhatsApp transport and vice versa. */
export async function createConnector(config: Config): Promise<Connector> {
  if (config.WA_CONNECTOR === 'sim') {
    const { simConnectorFromConfig } = await import('./sim/index.js');
    return simConnectorFromConfig(config);
  }
  const { baileysConnectorFromConfig } = await import('./baileys/index.js');
  return baileysConnectorFromConfig(config);
}
