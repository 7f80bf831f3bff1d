import { describe, expect, it } from "vitest";
import { api, bearer } from "./support/fixtures";
import { expectProblem } from "./support/problems";
import { createOk, describeTenantResource, useMemberClient } from "./support/tenant-resource-suite";

const PATH = "/api/v1/plugins";
const plugin = (name: string, extra: Record<string, unknown> = {}) => ({ name, version: "1.0.0", ...extra });

describeTenantResource({
  path: PATH,
  type: "plugin",
  reader: "viewer",
  body: (name) => plugin(name, { config: { replicas: 2 } }),
  change: { version: "1.1.0-rc.1", config: { replicas: 3, image: { tag: "v2" } } },
});

/** A config document nested `depth` levels deep (the outermost object is level 1). */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let level = 1; level < depth; level++) value = { a: value };
  return value;
}

describe("plugin fields", () => {
  const f = useMemberClient(PATH);

  it("answers every field, with config defaulting to an empty object", async () => {
    const item = await createOk(f.client, plugin(f.next()));
    expect(Object.keys(item).sort()).toEqual(["config", "created_at", "id", "name", "updated_at", "version"]);
    expect(item.config).toEqual({});
  });

  it("accepts every form of semantic version", async () => {
    for (const version of [
      "0.0.0",
      "10.20.30",
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-0.3.7",
      "1.0.0-x.7.z.92",
      "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
      "1.0.0+20130313144700",
      "1.0.0-beta+exp.sha.5114f85",
      "1.0.0+21AF26D3----117B344092BD",
    ]) {
      expect((await createOk(f.client, plugin(f.next(), { version }))).version).toBe(version);
    }
  });

  it("400 for anything that is not strict semver", async () => {
    for (const version of [
      "1",
      "1.2",
      "1.2.3.4",
      "v1.2.3",
      "01.2.3",
      "1.02.3",
      "1.2.03",
      "1.2.3-",
      "1.2.3-01",
      "1.2.3-alpha..1",
      "1.2.3+",
      "1.2.3+build..1",
      "1.2.3-beta_1",
      " 1.2.3",
      "latest",
      `1.2.3-${"a".repeat(130)}`,
      "",
      123,
    ]) {
      const body = await expectProblem(
        await f.client.create(plugin(f.next(), { version })),
        400,
        "validation_failed",
      );
      expect(body.errors?.[0]?.path, String(version)).toBe("version");
    }
  });

  it("config: any JSON object up to 64 KiB serialized, counted in UTF-8 bytes", async () => {
    // `{"k":""}` is 8 bytes, so this serializes to exactly 65 536.
    const fits = { k: "x".repeat(65_536 - 8) };
    expect((await createOk(f.client, plugin(f.next(), { config: fits }))).config).toEqual(fits);
    await expectProblem(
      await f.client.create(plugin(f.next(), { config: { k: "x".repeat(65_536 - 7) } })),
      400,
      "validation_failed",
    );
    // 21 846 euro signs are fewer characters than 64 Ki but 65 538 bytes.
    await expectProblem(
      await f.client.create(plugin(f.next(), { config: { k: "€".repeat(21_846) } })),
      400,
      "validation_failed",
    );
  });

  it("config: 400 for anything but an object", async () => {
    for (const config of [[1, 2], "text", 5, null, true]) {
      await expectProblem(await f.client.create(plugin(f.next(), { config })), 400, "validation_failed");
    }
  });

  it("config: nesting up to 32 levels; deeper, even absurdly deep, is a 400 and not a crash", async () => {
    expect((await createOk(f.client, plugin(f.next(), { config: nested(32) }))).config).toEqual(nested(32));
    await expectProblem(
      await f.client.create(plugin(f.next(), { config: nested(33) })),
      400,
      "validation_failed",
    );
    const depth = 50_000;
    const body = `{"name":"${f.next()}","version":"1.0.0","config":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
    const res = await api(PATH, {
      method: "POST",
      headers: { ...bearer(f.tenant.users.member.token), "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(400);
  });

  it("patch replaces the config whole and keeps what it does not name", async () => {
    const item = await createOk(f.client, plugin(f.next(), { version: "2.0.0", config: { a: 1, b: 2 } }));
    const res = await f.client.patch(item.id, { config: { c: 3 } });
    expect(await res.json()).toMatchObject({ version: "2.0.0", config: { c: 3 } });
  });
});
