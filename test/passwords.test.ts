import { describe, expect, it } from "vitest";
import { COMMON_PASSWORDS } from "../src/lib/common-passwords.data";
import { passwordIssues } from "../src/lib/password-policy";
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from "../src/lib/passwords";
import { hashPbkdf2 } from "../src/lib/pbkdf2";

/** The reference implementation's argon2id vectors (phc-winner-argon2 src/test.c): "password", "somesalt". */
const REFERENCE_VECTORS = [
  "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
  "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
];

describe("password hashing (argon2id in WebAssembly)", () => {
  it("verifies the reference implementation's vectors, and refuses a wrong password against them", async () => {
    for (const vector of REFERENCE_VECTORS) {
      expect(await verifyPassword("password", vector)).toBe(true);
      expect(await verifyPassword("passwore", vector)).toBe(false);
    }
  });

  it("hashes at OWASP's parameters with a fresh salt each time, and verifies the round trip", async () => {
    const [a, b] = [await hashPassword("correct horse battery"), await hashPassword("correct horse battery")];
    expect(a.startsWith("$argon2id$v=19$m=19456,t=2,p=1$")).toBe(true);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery", a)).toBe(true);
    expect(await verifyPassword("correct horse batterz", a)).toBe(false);
    expect(needsRehash(a)).toBe(false);
  });

  it("hashes every UTF-8 byte: non-ASCII passwords that share a prefix of characters differ", async () => {
    const hash = await hashPassword("pässwörd-€a-密码");
    expect(await verifyPassword("pässwörd-€a-密码", hash)).toBe(true);
    expect(await verifyPassword("pässwörd-€b-密码", hash)).toBe(false);
    expect(await verifyPassword("pässwörd-€a-密玛", hash)).toBe(false);
  });

  it("still verifies older PBKDF2 hashes, which need a rehash", async () => {
    const legacy = await hashPbkdf2("an older password", 1000);
    expect(await verifyPassword("an older password", legacy)).toBe(true);
    expect(await verifyPassword("another password", legacy)).toBe(false);
    expect(needsRehash(legacy)).toBe(true);
    expect(await verifyPassword("x", "md5$whatever")).toBe(false);
  });

  it("the dummy hash (unknown emails) is a well-formed hash at today's parameters that nothing matches", async () => {
    expect(needsRehash(DUMMY_PASSWORD_HASH)).toBe(false);
    expect(await verifyPassword("", DUMMY_PASSWORD_HASH)).toBe(false);
    expect(await verifyPassword("tenantry", DUMMY_PASSWORD_HASH)).toBe(false);
  });
});

describe("password policy", () => {
  it("bundles the 10,000 most common passwords", () => {
    const list = COMMON_PASSWORDS.split("\n");
    expect(list).toHaveLength(10_000);
    expect(new Set(list).size).toBe(10_000);
    expect(list.slice(0, 3)).toEqual(["123456", "password", "12345678"]);
  });

  it("accepts a long uncommon passphrase and names what is wrong with the others", () => {
    const email = "Alice.Example@Example.test";
    expect(passwordIssues("correct horse battery staple", email)).toEqual([]);
    expect(passwordIssues("x".repeat(11), email)[0]?.code).toBe("too_small");
    expect(passwordIssues("x".repeat(257), email)[0]?.code).toBe("too_big");
    expect(passwordIssues("alice.example@example.test", email)[0]?.code).toBe("password_is_email");
    expect(passwordIssues("ALICE.EXAMPLE", "alice.example@example.test")[0]?.code).toBe("password_is_email");
    expect(passwordIssues("QWERTY123456", email)[0]?.code).toBe("password_too_common");
    // Characters, not bytes or UTF-16 units: twelve emoji are twelve characters.
    expect(passwordIssues("🔑".repeat(12), email)).toEqual([]);
  });
});
