import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * The setting (src/config.ts) that lets webhooks reach loopback, private and
 * other non-public addresses, named in every refusal for local development.
 */
export const ALLOW_PRIVATE_NETWORKS_SETTING = 'ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS';

/** How a refusal by the guard ends: the setting that allows the address, and that it is for local development. */
export const PRIVATE_NETWORKS_HINT = `${ALLOW_PRIVATE_NETWORKS_SETTING}=true allows non-public addresses for local development`;

/** Resolves a host name to its IPv4 and IPv6 addresses. */
export type Resolver = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo, as Node's own connections use), every address. */
export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Why an address may not be reached from a webhook. */
export type AddressClass =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared (CGNAT)'
  | 'metadata'
  | 'multicast'
  | 'reserved';

interface Range {
  base: bigint;
  bits: number;
  kind: AddressClass;
}

const V4_MAPPED = 0xffff_0000_0000n;

function v4(cidr: string, kind: AddressClass): Range {
  const [ip, bits] = cidr.split('/') as [string, string];
  return { base: parseV4(ip) as bigint, bits: 96 + Number(bits), kind };
}

function v6(cidr: string, kind: AddressClass): Range {
  const [ip, bits] = cidr.split('/') as [string, string];
  return { base: parseV6(ip) as bigint, bits: Number(bits), kind };
}

// IPv4 ranges are kept in their IPv4-mapped IPv6 form (::ffff:a.b.c.d), so one
// table covers both families. The most specific entry comes first.
const BLOCKED: readonly Range[] = [
  v4('169.254.169.254/32', 'metadata'),
  v6('fd00:ec2::254/128', 'metadata'),
  v4('0.0.0.0/8', 'unspecified'),
  v4('127.0.0.0/8', 'loopback'),
  v4('10.0.0.0/8', 'private'),
  v4('172.16.0.0/12', 'private'),
  v4('192.168.0.0/16', 'private'),
  v4('169.254.0.0/16', 'link-local'),
  v4('100.64.0.0/10', 'shared (CGNAT)'),
  v4('192.0.0.0/24', 'reserved'),
  v4('198.18.0.0/15', 'reserved'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('fc00::/7', 'private'),
  v6('fec0::/10', 'private'),
  v6('fe80::/10', 'link-local'),
  v6('ff00::/8', 'multicast'),
  v6('100::/64', 'reserved'),
];

// IPv6 forms that carry an IPv4 address a packet may end up at: IPv4-compatible
// (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
function embeddedV4(addr: bigint): bigint | undefined {
  if (addr >> 32n === 0n && addr > 1n) return V4_MAPPED | addr;
  if (addr >> 32n === 0x0064_ff9b_0000_0000_0000_0000n) return V4_MAPPED | (addr & 0xffff_ffffn);
  if (addr >> 112n === 0x2002n) return V4_MAPPED | ((addr >> 80n) & 0xffff_ffffn);
  return undefined;
}

function parseV4(ip: string): bigint | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return V4_MAPPED | parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function parseV6(ip: string): bigint | undefined {
  let text = ip.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const four = parseV4(dotted[1] as string);
    if (four === undefined) return undefined;
    const low = four & 0xffff_ffffn;
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

/** Parses an IPv4 or IPv6 address (brackets and zone ids allowed) to 128 bits, IPv4 as IPv4-mapped. */
function parseAddress(ip: string): bigint | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  return isIP(bare.replace(/%.*$/, '')) === 4 ? parseV4(bare) : parseV6(bare);
}

/**
 * The class of a non-public address, or undefined for an address webhooks may
 * reach. Unparseable input counts as reserved, so it is refused.
 */
export function classifyAddress(ip: string): AddressClass | undefined {
  const addr = parseAddress(ip);
  if (addr === undefined) return 'reserved';
  const candidates = [addr, embeddedV4(addr)].filter((a): a is bigint => a !== undefined);
  for (const a of candidates) {
    const hit = BLOCKED.find((r) => a >> BigInt(128 - r.bits) === r.base >> BigInt(128 - r.bits));
    if (hit) return hit.kind;
  }
  return undefined;
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
