import { BlockList, isIP } from 'node:net';

/**
 * An address as a proxy or socket may write it, reduced to the bare IP:
 * surrounding spaces, brackets, a port (`192.0.2.1:8080`, `[2001:db8::1]:443`)
 * and an IPv6 zone are dropped, and an IPv4-mapped IPv6 address becomes its
 * IPv4 address. Undefined when what is left is not an IP address.
 */
export function plainAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let s = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(s);
  if (bracketed) s = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  s = s.split('%')[0]!;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (mapped) s = mapped[1]!;
  return isIP(s) === 0 ? undefined : s;
}

/**
 * Reads ROOMGATE_TRUSTED_PROXIES: comma-separated IP addresses and CIDR
 * blocks (`10.0.0.0/8`, `2001:db8::/32`). Returns the entries, or throws a
 * RangeError naming the first one that is neither.
 */
export function parseTrustedProxies(text: string): string[] {
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const entry of entries) toRule(entry);
  return entries;
}

function toRule(entry: string): { address: string; prefix: number | undefined; family: 'ipv4' | 'ipv6' } {
  const [address = '', prefix, extra] = entry.split('/');
  const version = isIP(address);
  const bits = version === 4 ? 32 : 128;
  const valid = version !== 0 && extra === undefined && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits));
  if (!valid) throw new RangeError(`${JSON.stringify(entry)} is neither an IP address nor a CIDR block such as 10.0.0.0/8`);
  const plain = prefix === undefined ? plainAddress(address)! : address;
  return { address: plain, prefix: prefix === undefined ? undefined : Number(prefix), family: isIP(plain) === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * The reverse proxies whose `X-Forwarded-For` is believed. Each proxy
 * appends the address it got the request from, so the list is only as
 * honest as its right end: read from the right, every address is believed
 * while it is itself a trusted proxy, and the first one that is not is the
 * client. Whatever a client writes into the header itself sits to the left
 * of that and is never read. A direct peer that is not trusted gets no say at
 * all, whatever it sends.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  /** How many entries there are; 0 believes no header. */
  readonly size: number;

  constructor(entries: readonly string[] = []) {
    for (const entry of entries) {
      const rule = toRule(entry);
      if (rule.prefix === undefined) this.list.addAddress(rule.address, rule.family);
      else this.list.addSubnet(rule.address, rule.prefix, rule.family);
    }
    this.size = entries.length;
  }

  /** Whether `address` (a bare IP, see {@link plainAddress}) is a trusted proxy. */
  trusts(address: string): boolean {
    return this.size > 0 && this.list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address for a request from `peer` (the socket's remote
   * address) carrying `forwardedFor` (the X-Forwarded-For values, in order):
   * the peer itself unless it is trusted; else the rightmost forwarded
   * address that is not trusted; all of them trusted, the leftmost. An entry
   * that is not an address stops the walk at the hop that wrote it.
   * Undefined when the peer has no address.
   */
  clientAddress(peer: string | undefined, forwardedFor: string | readonly string[] | undefined): string | undefined {
    let client = plainAddress(peer);
    if (client === undefined || !this.trusts(client) || forwardedFor === undefined) return client;
    const values = typeof forwardedFor === 'string' ? [forwardedFor] : forwardedFor;
    const hops = values.flatMap((v) => v.split(',')).map((h) => h.trim()).filter((h) => h !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainAddress(hops[i]);
      if (hop === undefined) return client;
      client = hop;
      if (!this.trusts(hop)) return hop;
    }
    return client;
  }
}
