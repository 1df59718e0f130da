import { isIPv4, isIPv6 } from 'node:net';

/**
 * Which IP addresses an installer download may connect to. Everything that is not a plain
 * public unicast address is refused (unless the operator allows private installer hosts), so a
 * build cannot be used to reach the host itself, the local network or a cloud metadata service.
 */

type Ipv4Range = readonly [base: number, prefixLength: number];

const v4 = (a: number, b: number, c: number, d: number): number => ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;

const FORBIDDEN_IPV4: readonly Ipv4Range[] = [
  [v4(0, 0, 0, 0), 8],        // "this network", includes the unspecified 0.0.0.0
  [v4(10, 0, 0, 0), 8],       // private
  [v4(100, 64, 0, 0), 10],    // carrier-grade NAT
  [v4(127, 0, 0, 0), 8],      // loopback
  [v4(169, 254, 0, 0), 16],   // link-local (cloud metadata lives here)
  [v4(172, 16, 0, 0), 12],    // private
  [v4(192, 0, 0, 0), 24],     // IETF protocol assignments
  [v4(192, 168, 0, 0), 16],   // private
  [v4(198, 18, 0, 0), 15],    // benchmarking
  [v4(224, 0, 0, 0), 4],      // multicast
  [v4(240, 0, 0, 0), 4],      // reserved, includes broadcast 255.255.255.255
];

function parseIpv4(text: string): number | null {
  if (!isIPv4(text)) return null;
  const parts = text.split('.').map(Number);
  return v4(parts[0]!, parts[1]!, parts[2]!, parts[3]!);
}

function isForbiddenIpv4Number(value: number): boolean {
  return FORBIDDEN_IPV4.some(([base, prefix]) => {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    return ((value & mask) >>> 0) === base;
  });
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
export function parseIpv6Groups(text: string): number[] | null {
  const withoutZone = text.replace(/%.*$/, '');
  if (!isIPv6(withoutZone)) return null;
  let body = withoutZone.toLowerCase();
  // An embedded dotted IPv4 tail (e.g. ::ffff:127.0.0.1) is rewritten as two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (dotted) {
    const value = parseIpv4(dotted[1]!);
    if (value === null) return null;
    body = body.slice(0, dotted.index) + (value >>> 16).toString(16) + ':' + (value & 0xffff).toString(16);
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const parseHalf = (half: string): number[] => (half === '' ? [] : half.split(':').map((g) => parseInt(g, 16)));
  const head = parseHalf(halves[0]!);
  const rest = halves.length === 2 ? parseHalf(halves[1]!) : [];
  const fixed = head.length + rest.length;
  const zeros = halves.length === 2 ? 8 - fixed : 0;
  const groups = [...head, ...new Array<number>(Math.max(zeros, 0)).fill(0), ...rest];
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  return groups;
}

function ipv4FromGroups(high: number, low: number): number {
  return ((high << 16) >>> 0) + low;
}

function isForbiddenIpv6Groups(g: number[]): boolean {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const firstSixZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0;
  if (firstSixZero && g6 === 0 && (g7 === 0 || g7 === 1)) return true; // :: and ::1
  // Forms that carry an IPv4 address: judge them by that address.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
    return isForbiddenIpv4Number(ipv4FromGroups(g6, g7)); // IPv4-mapped ::ffff:a.b.c.d
  }
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) {
    return isForbiddenIpv4Number(ipv4FromGroups(g6, g7)); // IPv4-translated ::ffff:0:a.b.c.d
  }
  if (firstSixZero) return isForbiddenIpv4Number(ipv4FromGroups(g6, g7)); // IPv4-compatible ::a.b.c.d
  if (g0 === 0x64 && g1 === 0xff9b) return isForbiddenIpv4Number(ipv4FromGroups(g6, g7)); // NAT64
  if (g0 === 0x2002) return isForbiddenIpv4Number(ipv4FromGroups(g1, g2)); // 6to4
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return true; // old site-local fec0::/10
  if ((g0 & 0xff00) === 0xff00) return true; // multicast ff00::/8
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return true; // discard-only 100::/64
  return false;
}

/**
 * True when `address` (an IPv4 or IPv6 literal, without brackets) is loopback, private,
 * link-local, unspecified, CGNAT, multicast, reserved, or an IPv6 form wrapping one of those.
 * Text that is not an IP address is treated as forbidden.
 */
export function isForbiddenAddress(address: string): boolean {
  const ipv4 = parseIpv4(address);
  if (ipv4 !== null) return isForbiddenIpv4Number(ipv4);
  const groups = parseIpv6Groups(address);
  if (groups !== null) return isForbiddenIpv6Groups(groups);
  return true;
}
