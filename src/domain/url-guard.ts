import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DomainError } from './errors.js';

/**
 * The setting (src/config.ts) that lets webhooks reach loopback, private and
 * other non-public addresses, named in every refusal for local development.
 */
export const ALLOW_PRIVATE_NETWORKS_SETTING = 'ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS';

/** How a refusal by the guard ends: the setting that allows the address, and that it is for local development. */
export const PRIVATE_NETWORKS_HINT = `${ALLOW_PRIVATE_NETWORKS_SETTING}=true allows non-public addresses for local development`;

/**
 * What a caller is told when the guard refuses a webhook URL, whatever the
 * reason. One text for every refusal: telling "does not resolve" apart from
 * "resolves to a loopback address", or naming the address class, let a caller
 * probe the server's DNS and network (which internal names exist and where
 * they point). The reason is in the server's logs only.
 */
export const NOT_AN_ALLOWED_DESTINATION = `not an allowed destination: webhooks may only reach host names that resolve to public addresses (${PRIVATE_NETWORKS_HINT})`;

/** The error for a webhook URL the guard refused: {@link NOT_AN_ALLOWED_DESTINATION}, about `url`. */
export function notAnAllowedDestination(): DomainError {
  return new DomainError('ERR_UNSAFE_WEBHOOK_URL', `url: ${NOT_AN_ALLOWED_DESTINATION}`, {
    field: 'url',
    metadata: { setting: ALLOW_PRIVATE_NETWORKS_SETTING },
  });
}

/** Resolves a host name to its IPv4 and IPv6 addresses. */
export type Resolver = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo, as Node's own connections use), every address. */
export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Why an address may not be reached from a webhook; for the server's logs only, never sent to callers. */
export type AddressClass =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared (CGNAT)'
  | 'metadata'
  | 'multicast'
  | 'documentation'
  | 'benchmarking'
  | 'translation'
  | 'reserved';

/** A row of an IANA special-purpose address registry, as the registry gives it. */
export interface SpecialPurposeBlock {
  /** The address block, e.g. `192.0.2.0/24`. */
  cidr: string;
  /** The registry's name of the block. */
  name: string;
  /** The registry's "Globally Reachable" column: true, false, or N/A (also for a blank cell). */
  globallyReachable: boolean | 'N/A';
  /** How the guard classes it when it refuses it. */
  kind: AddressClass;
}

/**
 * The IANA IPv4 Special-Purpose Address Registry
 * (https://www.iana.org/assignments/iana-ipv4-special-registry), row by row.
 * Every address in a row whose Globally Reachable is not true is refused. The
 * few rows marked true that sit inside such a row (192.0.0.9 and .10, anycast
 * service addresses) are refused with it: a webhook has no business there.
 */
export const IPV4_SPECIAL_PURPOSE: readonly SpecialPurposeBlock[] = [
  { cidr: '0.0.0.0/8', name: '"This network"', globallyReachable: false, kind: 'unspecified' },
  { cidr: '0.0.0.0/32', name: '"This host on this network"', globallyReachable: false, kind: 'unspecified' },
  { cidr: '10.0.0.0/8', name: 'Private-Use', globallyReachable: false, kind: 'private' },
  { cidr: '100.64.0.0/10', name: 'Shared Address Space', globallyReachable: false, kind: 'shared (CGNAT)' },
  { cidr: '127.0.0.0/8', name: 'Loopback', globallyReachable: false, kind: 'loopback' },
  { cidr: '169.254.0.0/16', name: 'Link Local', globallyReachable: false, kind: 'link-local' },
  { cidr: '172.16.0.0/12', name: 'Private-Use', globallyReachable: false, kind: 'private' },
  { cidr: '192.0.0.0/24', name: 'IETF Protocol Assignments', globallyReachable: false, kind: 'reserved' },
  { cidr: '192.0.0.0/29', name: 'IPv4 Service Continuity Prefix', globallyReachable: false, kind: 'reserved' },
  { cidr: '192.0.0.8/32', name: 'IPv4 dummy address', globallyReachable: false, kind: 'reserved' },
  { cidr: '192.0.0.9/32', name: 'Port Control Protocol Anycast', globallyReachable: true, kind: 'reserved' },
  { cidr: '192.0.0.10/32', name: 'Traversal Using Relays around NAT Anycast', globallyReachable: true, kind: 'reserved' },
  { cidr: '192.0.0.170/32', name: 'NAT64/DNS64 Discovery', globallyReachable: false, kind: 'reserved' },
  { cidr: '192.0.0.171/32', name: 'NAT64/DNS64 Discovery', globallyReachable: false, kind: 'reserved' },
  { cidr: '192.0.2.0/24', name: 'Documentation (TEST-NET-1)', globallyReachable: false, kind: 'documentation' },
  { cidr: '192.31.196.0/24', name: 'AS112-v4', globallyReachable: true, kind: 'reserved' },
  { cidr: '192.52.193.0/24', name: 'AMT', globallyReachable: true, kind: 'reserved' },
  { cidr: '192.88.99.0/24', name: 'Deprecated (6to4 Relay Anycast)', globallyReachable: 'N/A', kind: 'reserved' },
  { cidr: '192.168.0.0/16', name: 'Private-Use', globallyReachable: false, kind: 'private' },
  { cidr: '192.175.48.0/24', name: 'Direct Delegation AS112 Service', globallyReachable: true, kind: 'reserved' },
  { cidr: '198.18.0.0/15', name: 'Benchmarking', globallyReachable: false, kind: 'benchmarking' },
  { cidr: '198.51.100.0/24', name: 'Documentation (TEST-NET-2)', globallyReachable: false, kind: 'documentation' },
  { cidr: '203.0.113.0/24', name: 'Documentation (TEST-NET-3)', globallyReachable: false, kind: 'documentation' },
  { cidr: '240.0.0.0/4', name: 'Reserved', globallyReachable: false, kind: 'reserved' },
  { cidr: '255.255.255.255/32', name: 'Limited Broadcast', globallyReachable: false, kind: 'reserved' },
];

/**
 * The IANA IPv6 Special-Purpose Address Registry
 * (https://www.iana.org/assignments/iana-ipv6-special-registry), row by row,
 * refused on the same rule. All of 2001::/23 is refused, though some of its
 * sub-blocks are marked true (anycast services, AMT, AS112, ORCHIDv2, DRIP):
 * none is a place for a webhook, and Teredo (2001::/32) tunnels to IPv4.
 * 64:ff9b::/96 (NAT64) is decided by the IPv4 address it carries.
 */
export const IPV6_SPECIAL_PURPOSE: readonly SpecialPurposeBlock[] = [
  { cidr: '::1/128', name: 'Loopback Address', globallyReachable: false, kind: 'loopback' },
  { cidr: '::/128', name: 'Unspecified Address', globallyReachable: false, kind: 'unspecified' },
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped Address', globallyReachable: false, kind: 'translation' },
  { cidr: '64:ff9b::/96', name: 'IPv4-IPv6 Translat.', globallyReachable: true, kind: 'translation' },
  { cidr: '64:ff9b:1::/48', name: 'IPv4-IPv6 Translat.', globallyReachable: false, kind: 'translation' },
  { cidr: '100::/64', name: 'Discard-Only Address Block', globallyReachable: false, kind: 'reserved' },
  { cidr: '100:0:0:1::/64', name: 'Dummy IPv6 Prefix', globallyReachable: false, kind: 'reserved' },
  { cidr: '2001::/23', name: 'IETF Protocol Assignments', globallyReachable: false, kind: 'reserved' },
  { cidr: '2001::/32', name: 'TEREDO', globallyReachable: 'N/A', kind: 'translation' },
  { cidr: '2001:1::1/128', name: 'Port Control Protocol Anycast', globallyReachable: true, kind: 'reserved' },
  { cidr: '2001:1::2/128', name: 'Traversal Using Relays around NAT Anycast', globallyReachable: true, kind: 'reserved' },
  { cidr: '2001:1::3/128', name: 'DNS-SD Service Registration Protocol Anycast', globallyReachable: true, kind: 'reserved' },
  { cidr: '2001:2::/48', name: 'Benchmarking', globallyReachable: false, kind: 'benchmarking' },
  { cidr: '2001:3::/32', name: 'AMT', globallyReachable: true, kind: 'reserved' },
  { cidr: '2001:4:112::/48', name: 'AS112-v6', globallyReachable: true, kind: 'reserved' },
  { cidr: '2001:10::/28', name: 'Deprecated (previously ORCHID)', globallyReachable: 'N/A', kind: 'reserved' },
  { cidr: '2001:20::/28', name: 'ORCHIDv2', globallyReachable: true, kind: 'reserved' },
  { cidr: '2001:30::/28', name: 'Drone Remote ID Protocol Entity Tags (DETs) Prefix', globallyReachable: true, kind: 'reserved' },
  { cidr: '2001:db8::/32', name: 'Documentation', globallyReachable: false, kind: 'documentation' },
  { cidr: '2002::/16', name: '6to4', globallyReachable: 'N/A', kind: 'translation' },
  { cidr: '2620:4f:8000::/48', name: 'Direct Delegation AS112 Service', globallyReachable: true, kind: 'reserved' },
  { cidr: '3fff::/20', name: 'Documentation', globallyReachable: false, kind: 'documentation' },
  { cidr: '5f00::/16', name: 'Segment Routing (SRv6) SIDs', globallyReachable: false, kind: 'reserved' },
  { cidr: 'fc00::/7', name: 'Unique-Local', globallyReachable: false, kind: 'private' },
  { cidr: 'fe80::/10', name: 'Link-Local Unicast', globallyReachable: false, kind: 'link-local' },
];

interface Range {
  base: bigint;
  bits: number;
  kind: AddressClass;
}

function range(cidr: string, kind: AddressClass, width: 32 | 128): Range {
  const [ip, bits] = cidr.split('/') as [string, string];
  const base = width === 32 ? parseV4(ip) : parseV6(ip);
  if (base === undefined) throw new Error(`bad range ${cidr}`);
  return { base, bits: Number(bits), kind };
}

function find(ranges: readonly Range[], addr: bigint, width: 32 | 128): Range | undefined {
  return ranges.find((r) => addr >> BigInt(width - r.bits) === r.base >> BigInt(width - r.bits));
}

// Refused beyond the registries: cloud metadata addresses (named apart in the
// logs), multicast (its own registry), and the deprecated site-local block.
// Metadata comes first so it wins over the link-local or unique-local row.
const V4_REFUSED: readonly Range[] = [
  range('169.254.169.254/32', 'metadata', 32),
  range('224.0.0.0/4', 'multicast', 32),
  ...IPV4_SPECIAL_PURPOSE.filter((b) => b.globallyReachable !== true).map((b) => range(b.cidr, b.kind, 32)),
];
const V6_REFUSED: readonly Range[] = [
  range('fd00:ec2::254/128', 'metadata', 128),
  range('ff00::/8', 'multicast', 128),
  range('fec0::/10', 'private', 128),
  ...IPV6_SPECIAL_PURPOSE.filter((b) => b.globallyReachable !== true).map((b) => range(b.cidr, b.kind, 128)),
];
const NAT64 = range('64:ff9b::/96', 'translation', 128);
// 2000::/3 is all IANA allocates as global unicast: everything outside it is
// reserved or special (IPv4-compatible ::/96, SIIT ::ffff:0:0:0/96, 100::/64,
// 5f00::/16, ULA, link-local, multicast, and whatever is assigned later).
const GLOBAL_UNICAST = range('2000::/3', 'reserved', 128);

function classifyV4(addr: bigint): AddressClass | undefined {
  return find(V4_REFUSED, addr, 32)?.kind;
}

function classifyV6(addr: bigint): AddressClass | undefined {
  // A NAT64 address reaches the IPv4 address it embeds (RFC 6052).
  if (find([NAT64], addr, 128)) return classifyV4(addr & 0xffff_ffffn);
  const hit = find(V6_REFUSED, addr, 128);
  if (hit) {
    // Name the embedded IPv4 address's class where there is one, for the logs.
    if (addr >> 32n === 0xffffn) return classifyV4(addr & 0xffff_ffffn) ?? hit.kind;
    if (addr >> 112n === 0x2002n) return classifyV4((addr >> 80n) & 0xffff_ffffn) ?? hit.kind;
    return hit.kind;
  }
  if (!find([GLOBAL_UNICAST], addr, 128)) {
    // IPv4-compatible (::a.b.c.d, deprecated) still reaches IPv4 on some stacks.
    if (addr >> 32n === 0n) return classifyV4(addr) ?? 'reserved';
    return 'reserved';
  }
  return undefined;
}

function parseV4(ip: string): bigint | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function parseV6(ip: string): bigint | undefined {
  let text = ip.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const low = parseV4(dotted[1] as string);
    if (low === undefined) return undefined;
    text = `${text.slice(0, dotted.index)}${(low >> 16n).toString(16)}:${(low & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return undefined;
  const all = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
}

/**
 * The class of an address webhooks may not reach, or undefined for one they
 * may. Unparseable input counts as reserved, so it is refused.
 */
export function classifyAddress(ip: string): AddressClass | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (isIP(bare.replace(/%.*$/, '')) === 4) {
    const v4 = parseV4(bare);
    return v4 === undefined ? 'reserved' : classifyV4(v4);
  }
  const v6 = parseV6(bare);
  return v6 === undefined ? 'reserved' : classifyV6(v6);
}

/** The outcome of vetting a host: the addresses to connect to, or why none may be used. */
export type VetResult =
  | { ok: true; addresses: string[] }
  | { ok: false; reason: 'unresolvable'; detail: string }
  | { ok: false; reason: 'refused'; address: string; kind: AddressClass };

/**
 * SSRF guard: resolves a webhook host and refuses it when any of its
 * addresses is loopback, private, link-local, CGNAT, multicast, reserved or a
 * cloud metadata address, unless private networks are allowed. Every address
 * is checked, not only the first, because the connection may use any of them.
 * Callers connect only to the addresses returned, so a DNS answer that changes
 * between the check and the connection (rebinding) is never used.
 */
export class UrlGuard {
  constructor(
    private readonly resolve: Resolver,
    private readonly options: { allowPrivateNetworks: boolean; resolveTimeoutMs?: number },
  ) {}

  /** Vets `hostname` as URL.hostname gives it (IPv6 literals in brackets). */
  async vet(hostname: string): Promise<VetResult> {
    const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    let addresses: string[];
    if (isIP(host) !== 0) {
      addresses = [host];
    } else {
      try {
        addresses = await this.lookupWithTimeout(host);
      } catch (err) {
        return { ok: false, reason: 'unresolvable', detail: (err as { code?: string }).code ?? 'lookup failed' };
      }
      if (addresses.length === 0) return { ok: false, reason: 'unresolvable', detail: 'no addresses' };
    }
    if (this.options.allowPrivateNetworks) return { ok: true, addresses };
    for (const address of addresses) {
      const kind = classifyAddress(address);
      if (kind) return { ok: false, reason: 'refused', address, kind };
    }
    return { ok: true, addresses };
  }

  // getaddrinfo has no timeout of its own; a hung lookup must not hold a relay slot.
  private lookupWithTimeout(host: string): Promise<string[]> {
    const ms = this.options.resolveTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('lookup timed out'), { code: 'ETIMEOUT' })), ms);
    });
    return Promise.race([this.resolve(host), timeout]).finally(() => clearTimeout(timer));
  }
}
