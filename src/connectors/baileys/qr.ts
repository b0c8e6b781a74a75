import { isMainThread } from 'node:worker_threads';
import QRCode from 'qrcode';

/**
 * The pairing QR as terminal art (`qrcode`'s small terminal renderer: half-height blocks, so it fits
 * an 80x24 terminal). Account actors run in worker threads, which do not own the terminal: there the
 * QR travels to the main thread as the actor's `qr` event, and the main thread (supervisor) prints it
 * with this helper when `shouldPrintQr()` holds. The QR is a pairing secret for its ~20-60 s of life:
 * it goes to the terminal only, never to the log.
 */
export function renderQrToTerminal(qr: string): Promise<string> {
  return QRCode.toString(qr, { type: 'terminal', small: true });
}

/** True in the main thread with a terminal attached (not under a process manager writing to a file). */
export function shouldPrintQr(): boolean {
  return isMainThread && process.stdout.isTTY === true;
}
