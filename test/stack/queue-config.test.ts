import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { experimental_readRawConfig, unstable_readConfig } from "wrangler";
import { type Bindings, loadConfig } from "../../src/env";
import {
  MAX_ATTEMPTS,
  PURGE_CRON,
  RECONCILE_CRON,
  RETRY_BASE_SECONDS,
  retryDelaySeconds,
} from "../../src/jobs/policy";
import { isQueue, NOTIFY_QUEUE_NAME, PROVISION_QUEUE_NAME, WEBHOOK_QUEUE_NAME } from "../../src/jobs/queue";
import { MAX_DELIVERY_ATTEMPTS } from "../../src/webhooks/deliveries";

/** What these tests read of wrangler's resolved config (its exported types resolve to `any`). */
interface ResolvedConfig {
  vars: Record<string, string>;
  queues: {
    producers?: { binding: string; queue: string }[];
    consumers?: { queue: string; max_retries?: number; retry_delay?: number; dead_letter_queue?: string }[];
  };
  triggers: { crons?: string[] };
  workers_dev?: boolean;
  routes?: { pattern: string; zone_name?: string; custom_domain?: boolean }[];
  assets?: unknown;
}

const CONFIG_PATH = join(import.meta.dirname, "../../wrangler.toml");
/** Vars the Worker accepts only in development, or that point at the local stand-ins. */
const DEVELOPMENT_ONLY_VARS = [
  "INVITATION_DELIVERY",
  "WEBHOOK_ALLOW_PRIVATE",
  "NEON_LOCAL_PROXY",
  "NEON_LOCAL_HTTP",
];
/** Secrets are not in wrangler.toml; placeholders of the right shape let the Worker's parser run. */
const SECRETS = {
  DATABASE_URL: "postgres://app:secret@db.example.com/tenantry",
  JWT_SECRET: "x".repeat(32),
  UPSTASH_REDIS_REST_URL: "https://redis.example.com",
  UPSTASH_REDIS_REST_TOKEN: "token",
  MASTER_KEY: btoa("k".repeat(32)),
  PROVISIONER_SECRET: "s".repeat(32),
  SMTP_USER: "tenantry",
  SMTP_PASSWORD: "smtp-password",
};
/** Each queue binding, and the queue name `queue()` dispatches on (src/index.ts). */
const QUEUES = [
  { binding: "PROVISION_QUEUE", base: PROVISION_QUEUE_NAME },
  { binding: "NOTIFY_QUEUE", base: NOTIFY_QUEUE_NAME },
  { binding: "WEBHOOK_QUEUE", base: WEBHOOK_QUEUE_NAME },
];

/** The config exactly as `wrangler deploy --env <name>` resolves it (inheritance rules included). */
const resolve = (env?: string) =>
  unstable_readConfig({ config: CONFIG_PATH, env }, { hideWarnings: true }) as ResolvedConfig;
const deployed: string[] = Object.keys(
  experimental_readRawConfig({ config: CONFIG_PATH }).rawConfig.env ?? {},
);
const local = resolve();
const everyEnvironment = [
  { name: "development (top level)", env: undefined, config: local },
  ...deployed.map((env) => ({ name: env, env, config: resolve(env) })),
];

/** The consumer counts attempts itself; wrangler.toml's queue settings must tell the same story. */
describe("queue and cron configuration", () => {
  it("deploys a staging and a production environment", () => {
    expect(deployed.sort()).toEqual(["production", "staging"]);
  });

  describe.each(everyEnvironment)("$name", ({ env, config }) => {
    it.each(QUEUES)(
      "$binding produces to and consumes from one queue that queue() dispatches on, dead-lettering into its own DLQ",
      ({ binding, base }) => {
        const producers = (config.queues.producers ?? []).filter((p) => p.binding === binding);
        expect(producers).toHaveLength(1);
        const queue = producers[0]?.queue ?? "";
        expect(isQueue(queue, base), queue).toBe(true);
        expect(queue).toBe(env ? `${base}-${env}` : base);
        const consumers = (config.queues.consumers ?? []).filter((c) => c.queue === queue);
        expect(consumers).toHaveLength(1);
        expect(consumers[0]?.dead_letter_queue).toBe(`${queue}-dlq`);
        expect(isQueue(`${queue}-dlq`, base)).toBe(false);
      },
    );

    it("has no other queue", () => {
      expect(config.queues.producers?.map((p) => p.binding).sort()).toEqual(
        QUEUES.map((q) => q.binding).sort(),
      );
      expect(config.queues.consumers).toHaveLength(QUEUES.length);
    });

    it("every consumer's attempt budget and backoff base match max_retries and retry_delay", () => {
      for (const consumer of config.queues.consumers ?? []) {
        expect(consumer.retry_delay, consumer.queue).toBe(RETRY_BASE_SECONDS);
        if (isQueue(consumer.queue, WEBHOOK_QUEUE_NAME)) {
          // A delivery's own row counts its attempts; the message's budget must outlast them.
          expect(Number(consumer.max_retries) + 1, consumer.queue).toBeGreaterThanOrEqual(
            MAX_DELIVERY_ATTEMPTS,
          );
        } else {
          expect(Number(consumer.max_retries) + 1, consumer.queue).toBe(MAX_ATTEMPTS);
        }
      }
    });

    it("every cron trigger has a task", () => {
      expect(config.triggers.crons).toEqual([RECONCILE_CRON, PURGE_CRON]);
    });

    it("names its ENVIRONMENT and is accepted by the Worker's configuration parser", () => {
      expect(config.vars.ENVIRONMENT).toBe(env ?? "development");
      const vars = { ...config.vars, ...SECRETS } as unknown as Bindings;
      expect(() => loadConfig(vars)).not.toThrow();
    });

    it("serves the same static assets as the top level", () => {
      expect(config.assets).toEqual(local.assets);
    });
  });

  it("no two environments share a queue or a dead-letter queue", () => {
    const names = everyEnvironment.flatMap(({ config }) =>
      (config.queues.consumers ?? []).flatMap((c) => [c.queue, c.dead_letter_queue]),
    );
    expect(new Set(names).size).toBe(names.length);
  });

  it("retry delays double per attempt, jittered within the upper half", () => {
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const ceiling = RETRY_BASE_SECONDS * 2 ** (attempt - 1);
      expect(retryDelaySeconds(attempt, () => 0)).toBe(Math.ceil(ceiling / 2));
      expect(retryDelaySeconds(attempt, () => 1)).toBe(ceiling);
    }
    expect([1, 2, 3, 4, 5].map((a) => retryDelaySeconds(a, () => 1))).toEqual([5, 10, 20, 40, 80]);
  });
});

describe.each(deployed)("deployed environment %s", (env) => {
  const config = resolve(env);
  const baseDomain = config.vars.BASE_DOMAIN ?? "";

  it("sets every var the top level sets (vars are not inherited), except the development-only ones", () => {
    const expected = Object.keys(local.vars).filter((name) => !DEVELOPMENT_ONLY_VARS.includes(name));
    expect(Object.keys(config.vars)).toEqual(expect.arrayContaining(expected));
  });

  it("has no development-only vars", () => {
    for (const name of DEVELOPMENT_ONLY_VARS) expect(config.vars, name).not.toHaveProperty(name);
  });

  it("routes the apex API host and the tenant wildcard of BASE_DOMAIN, not workers.dev", () => {
    expect(baseDomain).not.toMatch(/localhost|^$/);
    expect(config.workers_dev).toBe(false);
    expect(config.routes?.map((route) => route.pattern)).toEqual([`${baseDomain}/*`, `*.${baseDomain}/*`]);
    for (const { zone_name: zone } of config.routes ?? []) {
      expect(zone && (baseDomain === zone || baseDomain.endsWith(`.${zone}`)), zone).toBe(true);
    }
  });

  it("sends mail over TLS (implicit on 465, or STARTTLS on 587), never port 25 or in clear", () => {
    const security = config.vars.SMTP_SECURITY;
    expect(["tls", "starttls"]).toContain(security);
    expect(config.vars.SMTP_PORT).toBe(security === "tls" ? "465" : "587");
    expect(config.vars.SMTP_HOST).toBeTruthy();
    expect(config.vars.MAIL_FROM).toBeTruthy();
  });

  it("is refused by the Worker without the SMTP credentials (secrets) or with SMTP_SECURITY=none", () => {
    const { SMTP_USER: _user, SMTP_PASSWORD: _password, ...withoutMail } = SECRETS;
    expect(() => loadConfig({ ...config.vars, ...withoutMail } as unknown as Bindings)).toThrow(/SMTP_USER/);
    expect(() =>
      loadConfig({ ...config.vars, ...SECRETS, SMTP_SECURITY: "none" } as unknown as Bindings),
    ).toThrow(/SMTP_SECURITY=none is for development only/);
  });

  it("reaches the provisioner over https, on a host outside its own routes", () => {
    const url = new URL(config.vars.PROVISIONER_URL ?? "");
    expect(url.protocol).toBe("https:");
    expect(url.hostname === baseDomain || url.hostname.endsWith(`.${baseDomain}`)).toBe(false);
  });
});
