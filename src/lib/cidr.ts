/**
 * IPv4 and IPv6 prefixes (CIDR): strict parsing, one normal form, and a compiled list that
 * matches an address in O(number of prefixes) without allocating.
 *
 * Every address is read as 128 bits, an IPv4 address as its IPv4-mapped form
 * `::ffff:a.b.c.d` (an IPv4 prefix /p as /(96 + p) there), which is how Node's
 * `net.BlockList` matches (the reference the property tests compare with): a client seen as
 * `::ffff:203.0.113.9` matches `203.0.113.0/24`, and an IPv6 prefix that covers
 * `::ffff:0:0/96` (`::/0`, say) covers IPv4 clients too.
 *
 * The normal form: the network address with its prefix length always written (`/32`, `/128`
 * for a bare address), IPv6 in lower case and compressed as RFC 5952 says, and a prefix inside
 * `::ffff:0:0/96` written as the IPv4 prefix it is (`::ffff:10.0.0.0/104` is `10.0.0.0/8`).
 * A prefix with host bits set (`10.1.2.3/8`) is refused, naming its network, rather than
 * silently widened: the admin may have meant `/32`.
 */

export type CidrParse = { ok: true; cidr: string } | { ok: false; message: string };

const DOT = 46;
const COLON = 58;
/** Where IPv4 lives in the 128-bit space: `::ffff:0:0/96`. */
const MAPPED_BITS = 96;

/** Sixteen-bit groups of the address being read; one parse at a time, so one scratch buffer. */
const groups = new Uint16Array(8);

/** Validates and normalises one prefix (or a bare address, as /32 or /128). */
export function parseCidr(text: string): CidrParse {
  const bits = readPrefix(text);
  return typeof bits === "string" ? { ok: false, message: bits } : { ok: true, cidr: formatPrefix(bits) };
}

/** Whether `text` is a bare IPv4 or IPv6 address. */
export function isIpAddress(text: string): boolean {
  return readAddress(text, 0, text.length) !== 0;
}

/**
 * The block a limit meters a client address by: an IPv4 address alone (`203.0.113.9/32`), an
 * IPv6 address by its /64, the smallest block a subscriber is routinely given (one host can
 * rotate through its /64 at will, so metering single IPv6 addresses meters nothing). An
 * IPv4-mapped IPv6 address counts as the IPv4 address it is. Text that is not an address is
 * answered as it came, so it is still metered (as itself).
 */
export function meteredBlock(address: string): string {
  const family = readAddress(address, 0, address.length);
  if (family === 0) return address;
  const mapped = groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0;
  if (family === 4 || (mapped && groups[4] === 0 && groups[5] === 0xffff)) return formatPrefix(128);
  groups.fill(0, 4, 8);
  return formatPrefix(64);
}

/**
 * A list of prefixes compiled once (per tenant record) for matching: four 32-bit words of
 * network and four of mask per prefix. An entry that does not parse matches nothing, so a
 * corrupted stored list admits fewer addresses, never more.
 */
export class PrefixList {
  readonly size: number;
  readonly #words: Int32Array;

  constructor(cidrs: readonly string[]) {
    const words: number[] = [];
    for (const cidr of cidrs) {
      const bits = readPrefix(cidr);
      if (typeof bits === "string") continue;
      for (let w = 0; w < 4; w++) words.push(wordOf(w));
      for (let w = 0; w < 4; w++) words.push((groupMask(bits, 2 * w) << 16) | groupMask(bits, 2 * w + 1) | 0);
    }
    this.#words = Int32Array.from(words);
    this.size = words.length / 8;
  }

  /** Whether the bare address `address` is inside one of the prefixes (false for a non-address). */
  admits(address: string): boolean {
    if (readAddress(address, 0, address.length) === 0) return false;
    const a0 = wordOf(0);
    const a1 = wordOf(1);
    const a2 = wordOf(2);
    const a3 = wordOf(3);
    const w = this.#words;
    for (let i = 0; i < w.length; i += 8) {
      if (
        (a0 & (w[i + 4] as number)) === w[i] &&
        (a1 & (w[i + 5] as number)) === w[i + 1] &&
        (a2 & (w[i + 6] as number)) === w[i + 2] &&
        (a3 & (w[i + 7] as number)) === w[i + 3]
      )
        return true;
    }
    return false;
  }
}

/**
 * Reads a prefix: its network into `groups` and its length over 128 bits as the answer, or
 * what is wrong with it.
 */
function readPrefix(text: string): number | string {
  const slash = text.indexOf("/");
  const family = readAddress(text, 0, slash < 0 ? text.length : slash);
  if (family === 0) return "Not an IPv4 or IPv6 address or prefix";
  const max = family === 4 ? 32 : 128;
  const bits = slash < 0 ? max : readPrefixLength(text, slash + 1);
  if (bits < 0 || bits > max)
    return `The prefix length must be a whole number from 0 to ${max} for IPv${family}`;
  const bits128 = family === 4 ? bits + MAPPED_BITS : bits;
  let hostBits = false;
  for (let g = 0; g < 8; g++) {
    const network = (groups[g] as number) & groupMask(bits128, g);
    if (network !== groups[g]) hostBits = true;
    groups[g] = network;
  }
  if (hostBits) return `The address has host bits set; the network is ${formatPrefix(bits128)}`;
  return bits128;
}

/** Reads `text[start, end)` into `groups`: 4 or 6 for the family written, 0 for no address. */
function readAddress(text: string, start: number, end: number): 0 | 4 | 6 {
  if (end - start > 45) return 0;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) === COLON) return readIpv6(text, start, end) ? 6 : 0;
  }
  if (!readIpv4(text, start, end, 6)) return 0;
  groups.fill(0, 0, 5);
  groups[5] = 0xffff;
  return 4;
}

/** Dotted quad, decimal, no leading zeros (`010` could be read as octal): into groups[at], groups[at + 1]. */
function readIpv4(text: string, start: number, end: number, at: number): boolean {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i <= end; i++) {
    const ch = i < end ? text.charCodeAt(i) : DOT;
    if (ch === DOT) {
      if (digits === 0 || parts === 4) return false;
      value = value * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else if (ch >= 48 && ch <= 57) {
      if (digits > 0 && octet === 0) return false;
      octet = octet * 10 + (ch - 48);
      digits++;
      if (octet > 255) return false;
    } else {
      return false;
    }
  }
  if (parts !== 4) return false;
  groups[at] = Math.floor(value / 0x10000);
  groups[at + 1] = value % 0x10000;
  return true;
}

/** RFC 4291 text: hex groups, at most one `::`, an optional dotted-quad tail; no zone id. */
function readIpv6(text: string, start: number, end: number): boolean {
  let count = 0;
  let gap = -1;
  let i = start;
  if (text.charCodeAt(i) === COLON) {
    if (i + 1 >= end || text.charCodeAt(i + 1) !== COLON) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (count === 8) return false;
    let value = 0;
    let j = i;
    for (; j < end; j++) {
      const hex = hexValue(text.charCodeAt(j));
      if (hex < 0) break;
      if (j - i === 4) return false;
      value = value * 16 + hex;
    }
    if (j < end && text.charCodeAt(j) === DOT) {
      if (count > 6 || !readIpv4(text, i, end, count)) return false;
      count += 2;
      break;
    }
    if (j === i) return false;
    groups[count++] = value;
    if (j === end) break;
    if (text.charCodeAt(j) !== COLON || j + 1 === end) return false;
    i = j + 1;
    if (text.charCodeAt(i) === COLON) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    }
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  const tail = count - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k] as number;
  groups.fill(0, gap, 8 - tail);
  return true;
}

function hexValue(ch: number): number {
  if (ch >= 48 && ch <= 57) return ch - 48;
  if (ch >= 97 && ch <= 102) return ch - 87;
  if (ch >= 65 && ch <= 70) return ch - 55;
  return -1;
}

/** `0`, or digits without a leading zero, to the end of `text`; -1 otherwise. */
function readPrefixLength(text: string, start: number): number {
  const length = text.length - start;
  if (length < 1 || length > 3 || (length > 1 && text.charCodeAt(start) === 48)) return -1;
  let value = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch < 48 || ch > 57) return -1;
    value = value * 10 + (ch - 48);
  }
  return value;
}

/** The 16 mask bits of group `g` under a 128-bit prefix of `bits`. */
function groupMask(bits: number, g: number): number {
  const inGroup = Math.min(16, Math.max(0, bits - 16 * g));
  return inGroup === 0 ? 0 : (0xffff << (16 - inGroup)) & 0xffff;
}

/** Word `w` (groups 2w and 2w+1) as a signed 32-bit integer, as `&` yields. */
function wordOf(w: number): number {
  return ((groups[2 * w] as number) << 16) | (groups[2 * w + 1] as number) | 0;
}

/** The normal form of the network in `groups` with a 128-bit prefix length of `bits128`. */
function formatPrefix(bits128: number): string {
  const mapped =
    bits128 >= MAPPED_BITS &&
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff;
  if (mapped) {
    const a = groups[6] as number;
    const b = groups[7] as number;
    return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}/${bits128 - MAPPED_BITS}`;
  }
  return `${formatIpv6()}/${bits128}`;
}

/** RFC 5952: lower case, no leading zeros, the first longest run of two or more zero groups as `::`. */
function formatIpv6(): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    Array.from(groups.subarray(from, to), (g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
