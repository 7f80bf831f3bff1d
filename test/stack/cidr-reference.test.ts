/**
 * `src/lib/cidr.ts` against Node's own address handling, with random inputs (fast-check,
 * fixed seed, printed in each test's name; `CIDR_SEED=<n>` replays another): matching against
 * `net.BlockList`, validity against `net.isIP`, the IPv6 normal form against the WHATWG URL
 * serializer (RFC 5952's compression). It runs in the Node project because `node:net` is the
 * reference; the Worker runs the same module.
 */
import { BlockList, isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isIpAddress, PrefixList, parseCidr } from "../../src/lib/cidr";

const SEED = Number(process.env.CIDR_SEED ?? 20261130);
const RUNS = 2_000;
const options = { seed: SEED, numRuns: RUNS };

/** Eight 16-bit groups; IPv4 as its mapped form, as the module and BlockList both read it. */
type Groups = number[];

interface Prefix {
  family: 4 | 6;
  network: Groups;
  /** The length over 128 bits. */
  bits: number;
}

const MAPPED = [0, 0, 0, 0, 0, 0xffff];
const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
const v6Groups: fc.Arbitrary<Groups> = fc.oneof(
  fc.array(group, { minLength: 8, maxLength: 8 }),
  // The mapped range and its neighbours, where IPv4 and IPv6 meet.
  fc.tuple(fc.constantFrom(0xffff, 0xfffe, 0), group, group).map(([g5, a, b]) => [0, 0, 0, 0, 0, g5, a, b]),
);
const v4Groups: fc.Arbitrary<Groups> = fc.tuple(group, group).map(([a, b]) => [...MAPPED, a, b]);

function mask(groups: Groups, bits: number): Groups {
  return groups.map((g, i) => {
    const inGroup = Math.min(16, Math.max(0, bits - 16 * i));
    return inGroup === 0 ? 0 : g & ((0xffff << (16 - inGroup)) & 0xffff);
  });
}

const isMapped = (g: Groups) => MAPPED.every((v, i) => g[i] === v);
const v4Text = (g: Groups) => {
  const [a = 0, b = 0] = g.slice(6);
  return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
};
const v6Full = (g: Groups) => g.map((x) => x.toString(16)).join(":");
const v6Padded = (g: Groups) => g.map((x) => x.toString(16).padStart(4, "0").toUpperCase()).join(":");
const v6Whatwg = (g: Groups) => new URL(`http://[${v6Full(g)}]`).hostname.slice(1, -1);
const v6Dotted = (g: Groups) =>
  `${g
    .slice(0, 6)
    .map((x) => x.toString(16))
    .join(":")}:${v4Text(g)}`;

/** Every way the module should read the address `g` of `family`, as BlockList is told it. */
function spellings(family: 4 | 6, g: Groups): Array<{ text: string; type: "ipv4" | "ipv6" }> {
  const v6 = [v6Full(g), v6Padded(g), v6Whatwg(g), v6Dotted(g)].map((text) => ({
    text,
    type: "ipv6" as const,
  }));
  return family === 4 ? [{ text: v4Text(g), type: "ipv4" }, ...v6] : v6;
}

const prefix: fc.Arbitrary<Prefix> = fc.oneof(
  fc.tuple(v4Groups, fc.integer({ min: 0, max: 32 })).map(([g, bits]) => ({
    family: 4 as const,
    network: mask(g, bits + 96),
    bits: bits + 96,
  })),
  fc.tuple(v6Groups, fc.integer({ min: 0, max: 128 })).map(([g, bits]) => ({
    family: 6 as const,
    network: mask(g, bits),
    bits,
  })),
);

function reference(prefixes: Prefix[]): BlockList {
  const list = new BlockList();
  for (const p of prefixes) {
    if (p.family === 4) list.addSubnet(v4Text(p.network), p.bits - 96, "ipv4");
    else list.addSubnet(v6Full(p.network), p.bits, "ipv6");
  }
  return list;
}

function written(p: Prefix, spelling: number): string {
  const texts = spellings(p.family, p.network);
  const text = texts[spelling % texts.length]?.text as string;
  const bits = p.family === 4 && !text.includes(":") ? p.bits - 96 : p.bits;
  return `${text}/${bits}`;
}

/** The normal form, computed apart from the module: IPv4 for the mapped range, else WHATWG's IPv6. */
function normalForm(p: Prefix): string {
  if (p.bits >= 96 && isMapped(p.network)) return `${v4Text(p.network)}/${p.bits - 96}`;
  return `${v6Whatwg(p.network)}/${p.bits}`;
}

/** An address: anywhere, or inside (or at the edge of) one of the prefixes. */
const address = fc.record({
  family: fc.constantFrom<4 | 6>(4, 6),
  v4: v4Groups,
  v6: v6Groups,
  near: fc.option(fc.nat(), { nil: undefined }),
  spelling: fc.nat(),
});

describe("CIDR matching and normal form against Node's net module", () => {
  it(`matches exactly what net.BlockList matches (seed ${SEED}, ${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.array(prefix, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(address, { minLength: 1, maxLength: 6 }),
        (prefixes, spell, addresses) => {
          const list = new PrefixList(prefixes.map((p, i) => written(p, spell[i] ?? 0)));
          expect(list.size).toBe(prefixes.length);
          const ref = reference(prefixes);
          for (const a of addresses) {
            let groups = a.family === 4 ? a.v4 : a.v6;
            let family = a.family;
            const target = a.near === undefined ? undefined : prefixes[a.near % Math.max(1, prefixes.length)];
            if (target) {
              // Keep the prefix's network bits, randomise the rest: mostly inside it.
              const m = mask(Array(8).fill(0xffff), target.bits);
              groups = groups.map(
                (g, i) =>
                  ((target.network[i] as number) & (m[i] as number)) | (g & ~(m[i] as number) & 0xffff),
              );
              family = isMapped(groups) ? 4 : 6;
            }
            const forms = spellings(family, groups);
            const { text, type } = forms[a.spelling % forms.length] as {
              text: string;
              type: "ipv4" | "ipv6";
            };
            expect(list.admits(text), `${text} in ${prefixes.map(normalForm).join(", ")}`).toBe(
              ref.check(text, type),
            );
          }
        },
      ),
      options,
    );
  });

  it(`normalises every spelling of a prefix to one form: IPv6 as RFC 5952 (WHATWG) writes it (seed ${SEED}, ${RUNS} runs)`, () => {
    fc.assert(
      fc.property(prefix, fc.nat(), (p, spelling) => {
        const expected = normalForm(p);
        expect(parseCidr(written(p, spelling))).toEqual({ ok: true, cidr: expected });
        expect(parseCidr(expected)).toEqual({ ok: true, cidr: expected });
      }),
      options,
    );
  });

  it(`refuses host bits, naming the network (seed ${SEED}, ${RUNS} runs)`, () => {
    fc.assert(
      fc.property(v6Groups, fc.integer({ min: 0, max: 128 }), (groups, bits) => {
        const network = mask(groups, bits);
        const result = parseCidr(`${v6Full(groups)}/${bits}`);
        const hostBits = network.some((g, i) => g !== groups[i]);
        expect(result.ok).toBe(!hostBits);
        if (!result.ok) expect(result.message).toContain(normalForm({ family: 6, network, bits }));
      }),
      options,
    );
  });

  it(`accepts as an address exactly what net.isIP accepts, zone ids aside (seed ${SEED}, ${RUNS} runs)`, () => {
    const alphabet = fc.constantFrom(..."0123456789abcdefABCDEF:.".split(""));
    const valid = fc.oneof(
      v4Groups.map(v4Text),
      v6Groups.map(v6Full),
      v6Groups.map(v6Whatwg),
      v6Groups.map(v6Dotted),
      v6Groups.map(v6Padded),
    );
    // Valid addresses with one character inserted, removed or replaced, and plain noise.
    const candidate = fc.oneof(
      fc.tuple(valid, fc.nat(), fc.nat({ max: 2 }), alphabet).map(([text, at, edit, ch]) => {
        const i = at % (text.length + 1);
        if (edit === 0) return text.slice(0, i) + ch + text.slice(i);
        if (edit === 1) return text.slice(0, i) + text.slice(i + 1);
        return text.slice(0, i) + ch + text.slice(i + 1);
      }),
      fc.array(alphabet, { maxLength: 45 }).map((chars) => chars.join("")),
      valid,
    );
    fc.assert(
      fc.property(candidate, (text) => {
        expect(isIpAddress(text), text).toBe(isIP(text) !== 0);
        expect(parseCidr(text).ok, text).toBe(isIP(text) !== 0);
      }),
      options,
    );
  });
});
