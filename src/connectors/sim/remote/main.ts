import { parseArgs } from 'node:util';
import { createLogger } from '../../../logging/logger.js';
import { SimServer } from './server.js';

/**
 * `npm run sim-server [-- --port 7070 --rate 1 --chats 5 --messages 20]`: the simulated WhatsApp that
 * several wasync processes share (start them with `WA_CONNECTOR=sim WA_SIM_SERVER=<printed URL>`).
 * Loopback only by default: it has no authentication, it is a test bench.
 */
function main(): void {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      rate: { type: 'string', default: '0' },
      chats: { type: 'string', default: '5' },
      messages: { type: 'string', default: '10' },
      'pair-ms': { type: 'string', default: '0' },
      'idle-timeout': { type: 'string', default: '32' },
      'log-level': { type: 'string', default: 'info' },
    },
  });
  const num = (name: keyof typeof values): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < 0) {
      process.stderr.write(`sim-server: --${name} must be a number ≥ 0, got ${String(values[name])}\n`);
      process.exit(2);
    }
    return v;
  };
  const logger = createLogger({ level: values['log-level'] ?? 'info', format: 'auto', name: 'wasync-sim-server' });
  const server = new SimServer({
    host: values.host,
    port: num('port'),
    rate: num('rate'),
    chats: num('chats'),
    messagesPerChat: num('messages'),
    pairMs: num('pair-ms'),
    idleTimeoutSeconds: num('idle-timeout'),
    logger,
  });
  server.start().then(
    (url) => {
      process.stdout.write(`wasync sim server listening on ${url}\n  WA_CONNECTOR=sim WA_SIM_SERVER=${url}\n`);
      const stop = (): void => {
        server.stop();
        process.exit(0);
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (err: unknown) => {
      process.stderr.write(`sim-server: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

main();
