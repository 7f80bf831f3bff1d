import { describe, expect, it } from "vitest";
import { meteredBlock, PrefixList, parseCidr } from "../src/lib/cidr";

/**
 * Parsing edge cases of `src/lib/cidr.ts`, in the Worker's runtime; the random comparison
 * with Node's `net.BlockList` is in test/stack/cidr-reference.test.ts.
 */
describe("parseCidr", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7/32"],
    ["203.0.113.0/24", "203.0.113.0/24"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["255.255.255.255/32", "255.255.255.255/32"],
    ["2001:DB8::/32", "2001:db8::/32"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1/128"],
    ["::", "::/128"],
    ["::/0", "::/0"],
    ["::1", "::1/128"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0/128"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3/128"],
    ["1:0:0:2:2:0:0:3", "1::2:2:0:0:3/128"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1/128"],
    ["::ffff:203.0.113.7", "203.0.113.7/32"],
    ["::ffff:cb00:7100/120", "203.0.113.0/24"],
    ["::ffff:0:0/96", "0.0.0.0/0"],
    ["::fffe:0:0/96", "::fffe:0:0/96"],
    ["64:ff9b::203.0.113.7", "64:ff9b::cb00:7107/128"],
    ["fe80::/10", "fe80::/10"],
  ])("%s is %s", (input, normal) => {
    expect(parseCidr(input)).toEqual({ ok: true, cidr: normal });
  });

  it.each([
    ["", "Not an IPv4 or IPv6 address"],
    ["203.0.113", "Not an IPv4 or IPv6 address"],
    ["203.0.113.256", "Not an IPv4 or IPv6 address"],
    ["203.0.113.07", "Not an IPv4 or IPv6 address"],
    ["203.0.113.7.1", "Not an IPv4 or IPv6 address"],
    ["203.0.113.-1", "Not an IPv4 or IPv6 address"],
    ["0x7f.0.0.1", "Not an IPv4 or IPv6 address"],
    ["2130706433", "Not an IPv4 or IPv6 address"],
    ["1::2::3", "Not an IPv4 or IPv6 address"],
    [":1::", "Not an IPv4 or IPv6 address"],
    ["1:", "Not an IPv4 or IPv6 address"],
    ["1:2:3:4:5:6:7:8:9", "Not an IPv4 or IPv6 address"],
    ["1:2:3:4:5:6:7:8::", "Not an IPv4 or IPv6 address"],
    ["12345::", "Not an IPv4 or IPv6 address"],
    ["g::1", "Not an IPv4 or IPv6 address"],
    ["fe80::1%eth0", "Not an IPv4 or IPv6 address"],
    ["[::1]", "Not an IPv4 or IPv6 address"],
    ["::ffff:1.2.3", "Not an IPv4 or IPv6 address"],
    ["1:2:3:4:5:6:7:1.2.3.4", "Not an IPv4 or IPv6 address"],
    [" 10.0.0.0/8", "Not an IPv4 or IPv6 address"],
    ["10.0.0.0/33", "from 0 to 32 for IPv4"],
    ["10.0.0.0/", "from 0 to 32 for IPv4"],
    ["10.0.0.0/08", "from 0 to 32 for IPv4"],
    ["10.0.0.0/8/8", "from 0 to 32 for IPv4"],
    ["10.0.0.0/-1", "from 0 to 32 for IPv4"],
    ["2001:db8::/129", "from 0 to 128 for IPv6"],
    ["10.1.2.3/8", "host bits set; the network is 10.0.0.0/8"],
    ["2001:db8::1/64", "host bits set; the network is 2001:db8::/64"],
    ["::ffff:10.1.2.3/104", "host bits set; the network is 10.0.0.0/8"],
  ])("refuses %j: %s", (input, message) => {
    const result = parseCidr(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });
});

describe("PrefixList", () => {
  it("matches IPv4 clients seen as IPv4-mapped IPv6, and IPv6 prefixes only IPv6 clients", () => {
    const list = new PrefixList(["203.0.113.0/24", "2001:db8::/32"]);
    expect(list.size).toBe(2);
    for (const ip of [
      "203.0.113.0",
      "203.0.113.255",
      "::ffff:203.0.113.9",
      "::FFFF:CB00:7109",
      "2001:db8::1",
    ])
      expect(list.admits(ip), ip).toBe(true);
    for (const ip of ["203.0.114.0", "203.0.112.255", "2001:db9::", "::203.0.113.9", "::1", "127.0.0.1"])
      expect(list.admits(ip), ip).toBe(false);
  });

  it("::/0 covers every address, 0.0.0.0/0 only IPv4 (as net.BlockList)", () => {
    expect(new PrefixList(["::/0"]).admits("198.51.100.1")).toBe(true);
    expect(new PrefixList(["0.0.0.0/0"]).admits("198.51.100.1")).toBe(true);
    expect(new PrefixList(["0.0.0.0/0"]).admits("2001:db8::1")).toBe(false);
  });

  it("admits no non-address, and an entry that does not parse matches nothing (never more)", () => {
    const list = new PrefixList(["203.0.113.0/24", "not a prefix", "10.1.2.3/8"]);
    expect(list.size).toBe(1);
    for (const ip of ["", "203.0.113.9/32", "203.0.113.9:443", "10.1.2.3", "garbage"])
      expect(list.admits(ip), ip).toBe(false);
    expect(new PrefixList([]).admits("203.0.113.9")).toBe(false);
  });
});

describe("meteredBlock", () => {
  it.each([
    ["203.0.113.9", "203.0.113.9/32"],
    ["::ffff:203.0.113.9", "203.0.113.9/32"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2::ffff", "2001:db8:1:2::/64"],
    ["::1", "::/64"],
    ["fe80::1", "fe80::/64"],
  ])("meters %s as %s", (address, block) => {
    expect(meteredBlock(address)).toBe(block);
  });

  it("answers text that is not an address as it came, so it is still metered as itself", () => {
    expect(meteredBlock("unknown")).toBe("unknown");
    expect(meteredBlock("")).toBe("");
  });
});
