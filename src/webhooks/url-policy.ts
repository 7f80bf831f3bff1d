/**
 * Where a tenant may point a webhook: an https URL on the public internet, so the deliveries
 * we send cannot be aimed at our own or anyone's internal services (SSRF).
 *
 * Only the URL is judged; DNS names are not resolved here, since a Worker cannot resolve a
 * name before its `fetch` does. A public name that resolves to a private address is stopped
 * by where the request is made from: on Cloudflare a Worker's `fetch` goes out to the
 * internet and cannot reach the operator's private network. The sender refuses redirects
 * (`redirect: "manual"`), so an accepted URL cannot hand the request on to a refused one.
 *
 * `allowPrivate` (local development, self-hosting) lifts the host rules and allows http; the
 * scheme must still be one of the two, and credentials and fragments are still refused.
 */

import { isIpAddress, PrefixList } from "../lib/cidr";

export type WebhookUrlCheck = { ok: true; url: string } | { ok: false; message: string };

const MAX_URL_LENGTH = 2048;
const TOO_LONG = `The webhook URL is longer than ${MAX_URL_LENGTH} characters`;

/** Names reserved for local networks (RFC 6761, 6762, 8375; `internal` by ICANN), and their subdomains. */
const LOCAL_NAMES = ["localhost", "local", "internal", "home.arpa"];

/**
 * Addresses off the public internet, by what they are (IANA's special-purpose registries),
 * the first match naming the kind. Loopback comes before unspecified since `::1` is also in
 * `::/104`, where IPv4-compatible IPv6 carries 0.0.0.0/8.
 */
const REFUSED_KINDS: readonly { kind: string; ipv4: readonly string[]; ipv6: readonly string[] }[] = [
  { kind: "a loopback address", ipv4: ["127.0.0.0/8"], ipv6: ["::1/128"] },
  { kind: "an unspecified address", ipv4: ["0.0.0.0/8"], ipv6: ["::/128"] },
  {
    kind: "a private-network address",
    ipv4: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
    ipv6: ["fc00::/7", "fec0::/10"],
  },
  { kind: "a carrier-grade NAT (shared) address", ipv4: ["100.64.0.0/10"], ipv6: [] },
  {
    kind: "a link-local address (where cloud metadata services answer)",
    ipv4: ["169.254.0.0/16"],
    ipv6: ["fe80::/10"],
  },
  { kind: "a multicast address", ipv4: ["224.0.0.0/4"], ipv6: ["ff00::/8"] },
  { kind: "a benchmarking address", ipv4: ["198.18.0.0/15"], ipv6: ["2001:2::/48"] },
  {
    kind: "a documentation address",
    ipv4: ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"],
    ipv6: ["2001:db8::/32", "3fff::/20"],
  },
  {
    kind: "a reserved address",
    ipv4: ["192.0.0.0/24", "240.0.0.0/4"],
    ipv6: ["100::/64", "64:ff9b:1::/48"],
  },
];

/**
 * IPv6 forms that carry an IPv4 address, each written from the IPv4 address's two 16-bit
 * halves and its prefix length: IPv4-compatible (deprecated), NAT64's well-known prefix and
 * 6to4. IPv4-mapped `::ffff:0:0/96` needs none: PrefixList reads IPv4 as that already.
 */
const IPV4_CARRIERS: readonly ((hi: string, lo: string, bits: number) => string)[] = [
  (hi, lo, bits) => `::${hi}:${lo}/${96 + bits}`,
  (hi, lo, bits) => `64:ff9b::${hi}:${lo}/${96 + bits}`,
  (hi, lo, bits) => `2002:${hi}:${lo}::/${16 + bits}`,
];

const REFUSED = REFUSED_KINDS.map(({ kind, ipv4, ipv6 }) => {
  const cidrs = [...ipv4, ...ipv6, ...ipv4.flatMap((cidr) => carried(cidr))];
  const list = new PrefixList(cidrs);
  // PrefixList skips what it cannot parse, which here would silently admit a range.
  if (list.size !== cidrs.length) throw new Error(`A refused range of "${kind}" does not parse`);
  return { kind, list };
});

/** Whether `text` may be a tenant's webhook URL, and if so its normal form (`URL.href`). */
export function checkWebhookUrl(text: string, options: { allowPrivate: boolean }): WebhookUrlCheck {
  if (text.length > MAX_URL_LENGTH) return refuse(TOO_LONG);
  if (!URL.canParse(text)) return refuse("The webhook URL is not an absolute URL (https://host/path)");
  const url = new URL(text);
  if (url.protocol !== "https:" && !(options.allowPrivate && url.protocol === "http:"))
    return refuse(
      options.allowPrivate ? "The webhook URL must use http or https" : "The webhook URL must use https",
    );
  if (url.username !== "" || url.password !== "")
    return refuse("The webhook URL must not carry a user name or password");
  // `hash` is empty for a bare trailing `#` too; outside a fragment `href` has no `#`.
  if (url.href.includes("#")) return refuse("The webhook URL must not have a fragment (#…)");
  if (url.href.length > MAX_URL_LENGTH) return refuse(TOO_LONG);
  if (!options.allowPrivate) {
    const hostProblem = problemWithHost(url.hostname);
    if (hostProblem) return refuse(hostProblem);
  }
  return { ok: true, url: url.href };
}

/**
 * What keeps a host (as `URL.hostname` writes it: IPv4 dotted, IPv6 bracketed and
 * compressed, a name in lower-case ASCII) off the public internet, if anything.
 */
function problemWithHost(hostname: string): string | undefined {
  const address = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  if (isIpAddress(address)) {
    const refused = REFUSED.find(({ list }) => list.admits(address));
    return refused && `The webhook host ${hostname} is ${refused.kind}, not a public internet address`;
  }
  const name = hostname.replace(/\.+$/, "");
  if (LOCAL_NAMES.some((local) => name === local || name.endsWith(`.${local}`)))
    return `The webhook host ${hostname} is a local name, not reachable from the internet`;
  if (!name.includes("."))
    return `The webhook host ${hostname} has no dot: an intranet name, not reachable from the internet`;
  return undefined;
}

/** The IPv4 prefix `cidr` (a.b.c.d/n) as each IPv6 form that carries it. */
function carried(cidr: string): string[] {
  const [address = "", bits = ""] = cidr.split("/");
  const [a = 0, b = 0, c = 0, d = 0] = address.split(".").map(Number);
  const hi = ((a << 8) | b).toString(16);
  const lo = ((c << 8) | d).toString(16);
  return IPV4_CARRIERS.map((carrier) => carrier(hi, lo, Number(bits)));
}

function refuse(message: string): WebhookUrlCheck {
  return { ok: false, message };
}
