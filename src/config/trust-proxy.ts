import { BlockList, isIP } from 'node:net';

/** More proxies than this in front of one service is a misconfiguration, not a deployment. */
export const MAX_TRUSTED_PROXY_HOPS = 10;
/**
 * The widest proxy ranges accepted: a /8 (10.0.0.0/8) and IPv6's unique-local /7. Anything wider
 * trusts most of the internet to name its own address.
 */
const MIN_PROXY_PREFIX = { 4: 8, 6: 7 } as const;
/** ::ffff:0:0/96 holds every IPv4 address: its ranges are judged by their IPv4 part. */
const IPV4_MAPPED_PREFIX_BITS = 96;
const IPV4_MAPPED_FIRST = '::ffff:0:0';
const IPV4_MAPPED_LAST = '::ffff:ffff:ffff';
const KEYWORD = /^(loopback|linklocal|uniquelocal)$/;

export type TrustProxy = false | number | string[];

/**
 * Unset or "false": no proxy is trusted, so X-Forwarded-For cannot change the client address. "true",
 * ranges that take in most of the internet and absurd hop counts are refused: each lets any client
 * name its own address, which every per-address limit relies on.
 */
export function parseTrustProxy(name: string, value: string | undefined): { trustProxy: TrustProxy; problem?: string } {
  if (value === undefined || value.toLowerCase() === 'false') return { trustProxy: false };
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops <= MAX_TRUSTED_PROXY_HOPS) return { trustProxy: hops };
    return {
      trustProxy: false,
      problem: `${name} must be at most ${MAX_TRUSTED_PROXY_HOPS} proxy hops (got "${value}"): more would trust addresses clients write themselves`,
    };
  }
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const invalid = entries.filter((entry) => !KEYWORD.test(entry) && proxyRange(entry) === undefined);
  if (value.toLowerCase() === 'true' || invalid.length > 0) {
    return {
      trustProxy: false,
      problem: `${name} must be a number of proxy hops or a list of proxy addresses/CIDRs (got "${value}"); "true" would let any client set its own address`,
    };
  }
  const tooWide = entries.filter((entry) => {
    const range = proxyRange(entry);
    return range !== undefined && range.prefix < MIN_PROXY_PREFIX[range.version];
  });
  if (tooWide.length > 0) {
    return {
      trustProxy: false,
      problem: `${name} must not trust ${tooWide.join(', ')}: any client could set its own address (widest accepted: IPv4 /${MIN_PROXY_PREFIX[4]}, IPv6 /${MIN_PROXY_PREFIX[6]})`,
    };
  }
  return { trustProxy: entries };
}

/** An address or CIDR's IP version and prefix length; undefined when it is neither. */
function proxyRange(entry: string): { version: 4 | 6; prefix: number } | undefined {
  const [address, bits, ...rest] = entry.split('/');
  const version = isIP(address) as 0 | 4 | 6;
  if (version === 0 || rest.length > 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits))) return undefined;
  const width = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? width : Number(bits);
  if (prefix > width) return undefined;
  if (version === 6) {
    // On a dual-stack socket IPv4 clients arrive as ::ffff:a.b.c.d: a range holding all of those
    // (::/80, ::/7, ...) trusts every IPv4 client, whatever its length says.
    const range = new BlockList();
    range.addSubnet(address, prefix, 'ipv6');
    if (range.check(IPV4_MAPPED_FIRST, 'ipv6') && range.check(IPV4_MAPPED_LAST, 'ipv6'))
      return { version: 4, prefix: 0 };
    if (/^::ffff:/i.test(address)) return { version: 4, prefix: prefix - IPV4_MAPPED_PREFIX_BITS };
  }
  return { version, prefix };
}
