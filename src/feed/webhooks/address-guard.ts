import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';

/**
 * SSRF guard for webhook URLs. A webhook URL is operator-controlled but reaches from inside the
 * deployment, so by default it may only reach public addresses: loopback, private ranges, link-local,
 * carrier-grade NAT and the like are refused unless WEBHOOK_ALLOW_PRIVATE=true, and the cloud
 * metadata endpoints are refused always. Names are resolved by the guard at connect time, and the
 * connection goes to the address it checked (no second lookup for a rebinding DNS server to answer).
 */

/** Never reachable, whatever the setting: instance metadata and addresses that are not a host. */
const ALWAYS = new BlockList();
ALWAYS.addAddress('169.254.169.254', 'ipv4'); // AWS, GCP, Azure, OpenStack metadata
ALWAYS.addAddress('169.254.170.2', 'ipv4'); // ECS task metadata
ALWAYS.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
ALWAYS.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
ALWAYS.addSubnet('0.0.0.0', 8, 'ipv4');
ALWAYS.addSubnet('224.0.0.0', 3, 'ipv4'); // multicast and reserved, broadcast included
ALWAYS.addAddress('::', 'ipv6');
ALWAYS.addSubnet('ff00::', 8, 'ipv6');

/** Refused unless WEBHOOK_ALLOW_PRIVATE=true. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10],
  ['192.0.0.0', 24],
  ['198.18.0.0', 15],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['64:ff9b::', 96],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

export class AddressRefusedError extends Error {
  override readonly name = 'AddressRefusedError';
}

/** Null when `address` may be reached; otherwise why not. */
export function refusal(address: string, allowPrivate: boolean): string | null {
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is the IPv4 address it maps.
  const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
  const ip = mapped ?? address;
  const type = mapped ? 'ipv4' : family === 4 ? 'ipv4' : 'ipv6';
  if (ALWAYS.check(ip, type)) return `${address} is a metadata or non-host address`;
  if (!allowPrivate && PRIVATE.check(ip, type))
    return `${address} is a loopback, private or link-local address (WEBHOOK_ALLOW_PRIVATE=true allows it)`;
  return null;
}

/** Checks a URL before any connection: scheme, credentials, and a host given as an IP literal. */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AddressRefusedError('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AddressRefusedError('only http and https URLs are allowed');
  if (url.username || url.password) throw new AddressRefusedError('credentials do not belong in a webhook URL (use the signature)');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) {
    const why = refusal(host, allowPrivate);
    if (why) throw new AddressRefusedError(why);
  }
  return url;
}

/**
 * A `lookup` for node:http's agent: resolves every address of the name and refuses the host if any
 * of them is refused (a name that also points inside is not trusted with the public one either).
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      const list = Array.isArray(addresses) ? addresses : [];
      for (const a of list) {
        const why = refusal(a.address, allowPrivate);
        if (why) return callback(new AddressRefusedError(`${hostname} resolves to ${why}`), '', 4);
      }
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 4);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      return callback(null, first.address, first.family);
    });
  };
}
