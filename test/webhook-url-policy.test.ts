import { describe, expect, it } from "vitest";
import { checkWebhookUrl } from "../src/webhooks/url-policy";

/**
 * The SSRF rules of `src/webhooks/url-policy.ts`, in the Worker's runtime, whose WHATWG URL
 * parser does the normalising the rules rely on (`0x7f.1` is `127.0.0.1`, `[::ffff:127.0.0.1]`
 * is `[::ffff:7f00:1]`).
 */

const PUBLIC = { allowPrivate: false };
const PRIVATE = { allowPrivate: true };

const ORIGIN = "https://example.com/";
const LONGEST = ORIGIN + "a".repeat(2048 - ORIGIN.length);

/** Rules that hold with and without `allowPrivate`: [url, part of the message]. */
const ALWAYS_REFUSED: [string, string][] = [
  ["", "not an absolute URL"],
  ["hooks.example.com/path", "not an absolute URL"],
  ["/webhooks", "not an absolute URL"],
  ["//example.com/hook", "not an absolute URL"],
  ["https://", "not an absolute URL"],
  ["https://exa mple.com/", "not an absolute URL"],
  ["https://[::1/", "not an absolute URL"],
  ["https://[fe80::1%25eth0]/", "not an absolute URL"],
  [`${LONGEST}a`, "longer than 2048 characters"],
  // Short as typed, long once percent-encoded: the stored form is what counts.
  [ORIGIN + "é".repeat(400), "longer than 2048 characters"],
  ["ftp://example.com/", "must use"],
  ["ws://example.com/", "must use"],
  ["file:///etc/passwd", "must use"],
  ["javascript:alert(1)", "must use"],
  ["data:text/plain,hello", "must use"],
  ["localhost:8787/hook", "must use"],
  ["https://user:pw@example.com/", "user name or password"],
  ["https://user@example.com/", "user name or password"],
  ["https://:pw@example.com/", "user name or password"],
  ["HTTPS://USER@EXAMPLE.COM/", "user name or password"],
  ["https://example.com/hook#section", "fragment"],
  ["https://example.com/hook#", "fragment"],
];

describe("checkWebhookUrl, public internet only", () => {
  it.each([
    ["https://hooks.example.com/path?q=1", "https://hooks.example.com/path?q=1"],
    ["https://example.com", "https://example.com/"],
    ["HTTPS://Hooks.Example.COM/Path", "https://hooks.example.com/Path"],
    ["https://example.com./", "https://example.com./"],
    ["https://example.com:443/hook", "https://example.com/hook"],
    ["https://example.com:8443/hook", "https://example.com:8443/hook"],
    ["https://example.com/a b", "https://example.com/a%20b"],
    ["  https://example.com/hook  ", "https://example.com/hook"],
    ["https://bücher.example/", "https://xn--bcher-kva.example/"],
    ["https://localhost.example.com/", "https://localhost.example.com/"],
    ["https://internal.example.com/", "https://internal.example.com/"],
    ["https://8.8.8.8/hook", "https://8.8.8.8/hook"],
    ["https://134744072/", "https://8.8.8.8/"],
    ["https://172.15.255.255/", "https://172.15.255.255/"],
    ["https://172.32.0.1/", "https://172.32.0.1/"],
    ["https://100.63.255.255/", "https://100.63.255.255/"],
    ["https://100.128.0.1/", "https://100.128.0.1/"],
    ["https://198.20.0.1/", "https://198.20.0.1/"],
    ["https://223.255.255.255/", "https://223.255.255.255/"],
    ["https://[2606:4700:4700::1111]/", "https://[2606:4700:4700::1111]/"],
    ["https://[2606:4700:4700:0:0:0:0:1111]/", "https://[2606:4700:4700::1111]/"],
    ["https://[::ffff:8.8.8.8]/", "https://[::ffff:808:808]/"],
    ["https://[64:ff9b::8.8.8.8]/", "https://[64:ff9b::808:808]/"],
    ["https://[2002:808:808::1]/", "https://[2002:808:808::1]/"],
    [LONGEST, LONGEST],
  ])("accepts %s as %s", (text, url) => {
    expect(checkWebhookUrl(text, PUBLIC)).toEqual({ ok: true, url });
  });

  it.each([
    ...ALWAYS_REFUSED,
    ["http://example.com/hook", "must use https"],
    ["HTTP://EXAMPLE.COM/", "must use https"],
    ["https://localhost/", "is a local name"],
    ["https://LOCALHOST:8787/", "is a local name"],
    ["https://localhost./", "is a local name"],
    ["https://api.localhost/", "is a local name"],
    ["https://ⓛocalhost/", "is a local name"],
    ["https://printer.local/", "is a local name"],
    ["https://db.internal/", "is a local name"],
    ["https://metadata.google.internal/computeMetadata/v1/", "is a local name"],
    ["https://nas.home.arpa/", "is a local name"],
    ["https://intranet/", "has no dot"],
    ["https://intranet./", "has no dot"],
    ["https://127.0.0.1/", "is a loopback address"],
    ["https://127.255.255.254/", "is a loopback address"],
    ["https://127.1/", "is a loopback address"],
    ["https://2130706433/", "is a loopback address"],
    ["https://0x7f.1/", "is a loopback address"],
    ["https://0x7f000001/", "is a loopback address"],
    ["https://0177.0.0.1/", "is a loopback address"],
    ["https://127.0.0.1./", "is a loopback address"],
    ["https://%31%32%37.0.0.1/", "is a loopback address"],
    ["https://[::1]/", "is a loopback address"],
    ["https://[0:0:0:0:0:0:0:1]/", "is a loopback address"],
    ["https://[::ffff:127.0.0.1]/", "is a loopback address"],
    ["https://[::ffff:7f00:1]/", "is a loopback address"],
    ["https://[::127.0.0.1]/", "is a loopback address"],
    ["https://[64:ff9b::127.0.0.1]/", "is a loopback address"],
    ["https://[2002:7f00:1::]/", "is a loopback address"],
    ["https://0.0.0.0/", "is an unspecified address"],
    ["https://0/", "is an unspecified address"],
    ["https://0.255.255.255/", "is an unspecified address"],
    ["https://[::]/", "is an unspecified address"],
    ["https://10.0.0.1/", "is a private-network address"],
    ["https://10.255.255.255/", "is a private-network address"],
    ["https://172.16.0.1/", "is a private-network address"],
    ["https://172.31.255.255/", "is a private-network address"],
    ["https://192.168.1.1/", "is a private-network address"],
    ["https://[fc00::1]/", "is a private-network address"],
    ["https://[fd12:3456:789a::1]/", "is a private-network address"],
    ["https://[fec0::1]/", "is a private-network address"],
    ["https://[::ffff:10.0.0.1]/", "is a private-network address"],
    ["https://[::10.0.0.1]/", "is a private-network address"],
    ["https://[64:ff9b::a00:1]/", "is a private-network address"],
    ["https://[2002:c0a8:101::1]/", "is a private-network address"],
    ["https://100.64.0.1/", "is a carrier-grade NAT (shared) address"],
    ["https://100.127.255.255/", "is a carrier-grade NAT (shared) address"],
    ["https://169.254.169.254/latest/meta-data", "is a link-local address"],
    ["https://169.254.0.1/", "is a link-local address"],
    ["https://[fe80::1]/", "is a link-local address"],
    ["https://[febf::1]/", "is a link-local address"],
    ["https://[::ffff:169.254.169.254]/", "is a link-local address"],
    ["https://[64:ff9b::a9fe:a9fe]/", "is a link-local address"],
    ["https://[2002:a9fe:a9fe::]/", "is a link-local address"],
    ["https://224.0.0.1/", "is a multicast address"],
    ["https://239.255.255.250/", "is a multicast address"],
    ["https://[ff02::1]/", "is a multicast address"],
    ["https://198.18.0.1/", "is a benchmarking address"],
    ["https://198.19.255.255/", "is a benchmarking address"],
    ["https://[2001:2::1]/", "is a benchmarking address"],
    ["https://192.0.2.1/", "is a documentation address"],
    ["https://198.51.100.1/", "is a documentation address"],
    ["https://203.0.113.1/", "is a documentation address"],
    ["https://[2001:db8::1]/", "is a documentation address"],
    ["https://[3fff::1]/", "is a documentation address"],
    ["https://192.0.0.8/", "is a reserved address"],
    ["https://240.0.0.1/", "is a reserved address"],
    ["https://255.255.255.255/", "is a reserved address"],
    ["https://[100::1]/", "is a reserved address"],
    ["https://[64:ff9b:1::1]/", "is a reserved address"],
  ])("refuses %s: %s", (text, message) => {
    expect(checkWebhookUrl(text, PUBLIC)).toEqual({ ok: false, message: expect.stringContaining(message) });
  });

  it("names the host as normalised in its message", () => {
    expect(checkWebhookUrl("https://[::ffff:127.0.0.1]/", PUBLIC)).toEqual({
      ok: false,
      message: "The webhook host [::ffff:7f00:1] is a loopback address, not a public internet address",
    });
  });
});

describe("checkWebhookUrl, private hosts allowed", () => {
  it.each([
    ["http://localhost:8787/hook", "http://localhost:8787/hook"],
    ["HTTP://LOCALHOST/", "http://localhost/"],
    ["http://127.0.0.1/", "http://127.0.0.1/"],
    ["http://0x7f.1/", "http://127.0.0.1/"],
    ["https://169.254.169.254/latest/meta-data", "https://169.254.169.254/latest/meta-data"],
    ["http://10.0.0.1/", "http://10.0.0.1/"],
    ["http://[::1]:8080/", "http://[::1]:8080/"],
    ["http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/"],
    ["http://intranet/hook", "http://intranet/hook"],
    ["https://db.internal/", "https://db.internal/"],
    ["https://hooks.example.com/path?q=1", "https://hooks.example.com/path?q=1"],
  ])("accepts %s as %s", (text, url) => {
    expect(checkWebhookUrl(text, PRIVATE)).toEqual({ ok: true, url });
  });

  it.each([
    ...ALWAYS_REFUSED,
    ["ftp://localhost/", "must use http or https"],
    ["http://user:pw@localhost/", "user name or password"],
    ["http://localhost/#x", "fragment"],
  ])("refuses %s: %s", (text, message) => {
    expect(checkWebhookUrl(text, PRIVATE)).toEqual({ ok: false, message: expect.stringContaining(message) });
  });
});
