import net from 'node:net';

/**
 * A TCP proxy between a client and a server (Firestore's emulator, in the tests and the benchmark):
 * the network the loopback does not have. It can add latency (each chunk held, in each direction, for
 * half the round trip; order kept) and it can partition: `cut()` blackholes the link (connections
 * stay open but nothing passes either way, new ones are accepted and never reach the server: calls
 * hang, as across a real partition), `heal()` drops those dead connections so the client reconnects.
 */
export interface TcpProxy {
  /** `host:port` to give the client instead of the server's. */
  readonly host: string;
  cut(): void;
  heal(): void;
  readonly isCut: boolean;
  stop(): void;
}

export async function startTcpProxy(target: string, opts: { rttMs?: number } = {}): Promise<TcpProxy> {
  const targetHost = target.slice(0, target.lastIndexOf(':'));
  const targetPort = Number(target.slice(target.lastIndexOf(':') + 1));
  const oneWay = (opts.rttMs ?? 0) / 2;
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket | null }>();
  let cut = false;
  const later = (fn: () => void): void => {
    if (oneWay > 0) setTimeout(fn, oneWay);
    else fn();
  };
  const relay = (from: net.Socket, to: net.Socket): void => {
    from.on('data', (chunk) => {
      if (cut) return; // dropped on the floor: the partition
      later(() => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.on('close', () => {
      if (!cut) later(() => to.destroy());
    });
    from.on('error', () => to.destroy());
  };
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    client.on('error', () => undefined);
    const pair: { client: net.Socket; upstream: net.Socket | null } = { client, upstream: null };
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    if (cut) return; // accepted, and never connected through
    const upstream = net.connect(targetPort, targetHost);
    upstream.setNoDelay(true);
    upstream.on('error', () => client.destroy());
    pair.upstream = upstream;
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${address.port}`,
    cut() {
      cut = true;
    },
    heal() {
      cut = false;
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      pairs.clear();
    },
    get isCut() {
      return cut;
    },
    stop() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      server.close();
    },
  };
}
