import QRCode from 'qrcode';

/**
 * The pairing QR as terminal art (`qrcode`'s small terminal renderer: half-height blocks, so it fits
 * an 80x24 terminal). Both connectors pair with the same QR format, so both render it this way.
 */
export function renderQrToTerminal(qr: string): Promise<string> {
  return QRCode.toString(qr, { type: 'terminal', small: true });
}
