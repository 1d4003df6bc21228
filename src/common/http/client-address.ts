import { normalizeIp } from '@nestjs/throttler';

/**
 * The unit a per-address limit counts: an IPv4 address, an IPv4-mapped IPv6 address as its IPv4
 * address, and an IPv6 address by its /64, since one IPv6 client is usually handed a whole /64 and can
 * rotate through it at will. Every per-address key (failed logins, rate limits) goes through this.
 */
export function clientAddressKey(ip: string | null | undefined): string {
  if (!ip) return 'unknown';
  return normalizeIp(ip);
}
