import { renderQrToTerminal } from '../qr.js';
import type { ConnectorTraits } from '../types.js';
import { simMedia } from './media.js';

export const simTraits: ConnectorTraits = { kind: 'sim', renderQr: renderQrToTerminal, media: simMedia };
