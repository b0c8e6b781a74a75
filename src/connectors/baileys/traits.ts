import { renderQrToTerminal } from '../qr.js';
import type { ConnectorTraits } from '../types.js';
import { baileysMedia } from './media.js';

export const baileysTraits: ConnectorTraits = { kind: 'baileys', renderQr: renderQrToTerminal, media: baileysMedia };
