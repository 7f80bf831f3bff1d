/**
 * A route's declared access, as the middleware in front of its handler. Each stage declares
 * the variables it sets (`env.ts`) and @hono/zod-openapi types a handler with the union of
 * its route's stages, so the tuple types below are what make `c.var.tenant` exist on a
 * tenant route's handler and not on any other. The tuples are built to match them exactly:
 * a stage a route does not need is `pass`, not left out.
 */
import type { MiddlewareHandler } from "hono";
import { every } from "hono/combine";
import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../../request-env";
import type { Feature } from "../../services/tenancy/plans";
import { idempotent } from "../idempotency";
import type { Access, PublicLimits, TenantAccess } from "./access";
import { requireAllowedAddress } from "./allowed-address";
import { authenticate, presentsMetricsToken } from "./authenticate";
import type { Authenticated, PasswordChecked, SignedInUser, TenantScoped } from "./env";
import { limitInvitationAccepts, limitPasswordGuesses, limitTenant } from "./limits";
import { requireCurrentCredential, requireUser } from "./require-user";
import { requireFeature, requireRole, resolveTenant } from "./resolve-tenant";

type Stage<E extends AppBindings | Authenticated | SignedInUser | TenantScoped | PasswordChecked> =
  MiddlewareHandler<E>;

/** The stages of each access kind, in order. */
type AccessStages<A extends Access> = A extends TenantAccess
  ? [
      Stage<Authenticated>,
      Stage<TenantScoped>,
      Stage<TenantScoped>,
      Stage<TenantScoped>,
      Stage<TenantScoped>,
      Stage<TenantScoped>,
      Stage<TenantScoped>,
    ]
  : A extends { kind: "system"; metricsToken: true }
    ? [Stage<AppBindings>]
    : A extends { kind: "user" | "system" }
      ? [Stage<Authenticated>, Stage<SignedInUser>, Stage<SignedInUser>]
      : A extends { kind: "authenticated" }
        ? [Stage<Authenticated>, Stage<Authenticated>]
        : [];

type LimitStages<L extends PublicLimits | undefined> = [
  ...(L extends { invitationAccepts: true } ? [Stage<AppBindings>] : []),
  ...(L extends { passwordGuesses: true } ? [Stage<PasswordChecked>] : []),
];

export type Pipeline<A extends Access, L extends PublicLimits | undefined> = [
  ...AccessStages<A>,
  ...LimitStages<L>,
];

export interface PipelineOptions {
  access: Access;
  feature: Feature | undefined;
  limits: PublicLimits | undefined;
  /** A POST that creates (answers 201): it honours `Idempotency-Key`. */
  creates: boolean;
}

/** The middleware of a route, in the order `Pipeline` types it. */
export function pipelineFor(options: PipelineOptions): MiddlewareHandler[] {
  return [...accessStages(options), ...limitStages(options.limits)];
}

function accessStages({ access, feature, creates }: PipelineOptions): MiddlewareHandler[] {
  switch (access.kind) {
    case "public":
      return [];
    case "authenticated":
      return [
        authenticate({ passwordChangeExempt: access.passwordChangeExempt === true }),
        requireCurrentCredential(),
      ];
    case "user":
    case "system": {
      const stages = [
        authenticate({
          passwordChangeExempt: access.kind === "user" && access.passwordChangeExempt === true,
        }),
        requireUser(access.kind),
        creates ? idempotent<SignedInUser>(() => null) : pass,
      ];
      if (access.kind === "system" && access.metricsToken) {
        const admin = every(...stages);
        return [
          createMiddleware<AppBindings>((c, next) => (presentsMetricsToken(c) ? next() : admin(c, next))),
        ];
      }
      return stages;
    }
    case "tenant":
      return [
        authenticate({ passwordChangeExempt: false }),
        resolveTenant(access),
        requireAllowedAddress(),
        requireRole(access.role),
        feature ? requireFeature(feature) : pass,
        limitTenant(access),
        creates ? idempotent<TenantScoped>((c) => c.var.tenant.id) : pass,
      ];
  }
}

function limitStages(limits: PublicLimits | undefined): MiddlewareHandler[] {
  const stages: MiddlewareHandler[] = [];
  if (limits?.invitationAccepts) stages.push(limitInvitationAccepts());
  if (limits?.passwordGuesses) stages.push(limitPasswordGuesses());
  return stages;
}

/** A stage this route does not need. */
const pass: MiddlewareHandler = (_c, next) => next();
