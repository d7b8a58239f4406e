import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import type { TrustedProxies } from './trusted-proxies.js';

/**
 * The address of the client that sent `req`: the socket's peer, or, when
 * that is one of `proxies`, the client its X-Forwarded-For names (see
 * {@link TrustedProxies.clientAddress}).
 */
export function requestClientAddress(req: Pick<IncomingMessage, 'socket' | 'headers'>, proxies: TrustedProxies): string | undefined {
  return proxies.clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']);
}

/**
 * The key per-client limits count under: an IPv4 address, or the /64 of an
 * IPv6 address, since one IPv6 host usually holds a whole /64 and could
 * otherwise take a fresh address, and a fresh allowance, per request. An
 * IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function clientKey(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (mapped) return mapped[1]!;
  if (!isIPv6(remoteAddress)) return remoteAddress;
  return `${expandIPv6(remoteAddress).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros; a zone (%eth0) is dropped. */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 tail (::1.2.3.4) is two groups; only the first four groups matter here.
  const missing = 8 - left.length - right.length - right.filter((g) => g.includes('.')).length;
  return [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right].map((g) => (g.includes('.') ? g : (parseInt(g, 16) || 0).toString(16)));
}
