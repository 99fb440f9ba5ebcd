import ipaddr from 'ipaddr.js';

/**
 * Which addresses a webhook may be sent to (SSRF, ADR 0036): public unicast addresses only,
 * plus loopback when the operator allows http to loopback (`ERPC_WEBHOOKS_ALLOW_HTTP=loopback`,
 * for local development and tests) and any range the operator lists in
 * `ERPC_WEBHOOKS_ALLOWED_NETWORKS` (CIDRs, e.g. an internal receiver in 10.0.0.0/8).
 * IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
 */
export interface AddressPolicyOptions {
  allowLoopback: boolean;
  allowedNetworks: readonly string[];
}

export class AddressPolicy {
  readonly allowLoopback: boolean;
  readonly #networks: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  constructor(options: AddressPolicyOptions) {
    this.allowLoopback = options.allowLoopback;
    this.#networks = options.allowedNetworks.map((cidr) => normaliseRange(ipaddr.parseCIDR(cidr)));
  }

  /** Why `address` is refused (its range's name), or undefined when it may be used. */
  refusal(address: string): string | undefined {
    if (!ipaddr.isValid(address)) return 'not an IP address';
    let ip = ipaddr.parse(address);
    if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
    for (const [net, bits] of this.#networks) {
      if (net.kind() === ip.kind() && ip.match(net, bits)) return undefined;
    }
    const range = ip.range();
    if (range === 'unicast') return undefined;
    if (range === 'loopback' && this.allowLoopback) return undefined;
    return range;
  }
}

function normaliseRange([ip, bits]: [ipaddr.IPv4 | ipaddr.IPv6, number]): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) return [(ip as ipaddr.IPv6).toIPv4Address(), bits - 96];
  return [ip, bits];
}

/** True when `text` is a CIDR range ipaddr.js understands. */
export function isCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}

/** A URL's host without IPv6 brackets. */
export function bareHost(url: URL): string {
  return url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
}

/** True for loopback addresses and the names that always mean them. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (!ipaddr.isValid(host)) return false;
  let ip = ipaddr.parse(host);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === 'loopback';
}
