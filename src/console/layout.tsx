/** The page frame (header, navigation, sign-out) and the small pieces every page uses. */
import type { Context } from "hono";
import { html } from "hono/html";
import type { Child, FC, PropsWithChildren } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { RateLimitState } from "./api-client";
import { CLIENT_SCRIPT, STYLESHEET } from "./assets/assets";
import type { ConsoleEnv } from "./console-env";
import { type FriendlyProblem, formatCount, formatSeconds } from "./messages";
import type { ConsoleSession } from "./session";

export type NavKey = "tenants" | "new-tenant" | "tenant" | "password";

interface LayoutProps {
  title: string;
  session: ConsoleSession;
  nav?: NavKey;
  budget?: RateLimitState;
}

export const Layout: FC<PropsWithChildren<LayoutProps>> = ({ title, session, nav, budget, children }) => {
  const who = session.identity;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Tenantry console`}</title>
        {/* No favicon request (and no 404 in the console) until there is an icon. */}
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={STYLESHEET.path} />
        <script src={CLIENT_SCRIPT.path} defer />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <div class="bar">
            <a class="brand" href="/console">
              Tenantry console
            </a>
            {who && (
              <nav aria-label="Main">
                <ul>
                  {who.isSystemAdmin ? (
                    <>
                      <NavLink href="/console/tenants" current={nav === "tenants"}>
                        Tenants
                      </NavLink>
                      <NavLink href="/console/tenants/new" current={nav === "new-tenant"}>
                        New tenant
                      </NavLink>
                    </>
                  ) : (
                    who.tenantSlug && (
                      <NavLink href={`/console/tenants/${who.tenantSlug}`} current={nav === "tenant"}>
                        My tenant
                      </NavLink>
                    )
                  )}
                  <li>
                    <a href="/docs">API reference</a>
                  </li>
                </ul>
              </nav>
            )}
            {who && (
              <div class="who">
                <span>
                  {who.email || "Signed in"}
                  {who.isSystemAdmin ? " · system admin" : who.role ? ` · ${who.role}` : ""}
                </span>
                <a href="/console/password" aria-current={nav === "password" ? "page" : undefined}>
                  Change password
                </a>
                <form class="inline" method="post" action="/console/sign-out">
                  <CsrfField session={session} />
                  <button type="submit" class="secondary">
                    Sign out
                  </button>
                </form>
              </div>
            )}
          </div>
        </header>
        <main id="main" tabindex={-1}>
          {budget && <Budget state={budget} />}
          {children}
        </main>
      </body>
    </html>
  );
};

const NavLink: FC<PropsWithChildren<{ href: string; current: boolean }>> = ({ href, current, children }) => (
  <li>
    <a href={href} aria-current={current ? "page" : undefined}>
      {children}
    </a>
  </li>
);

/** The tenant's hourly API budget, from the RateLimit headers of the page's own API calls. */
const Budget: FC<{ state: RateLimitState }> = ({ state }) => (
  <p class={state.remaining === 0 ? "budget at-limit" : "budget"} data-testid="rate-limit">
    API budget this hour: {formatCount(state.remaining)}
    {state.limit !== null ? ` of ${formatCount(state.limit)}` : ""} calls left · resets in{" "}
    {formatSeconds(state.resetSeconds)}
  </p>
);

/** A labelled form control: the label names the control whose id it is given. */
export const Field: FC<PropsWithChildren<{ id: string; label: string }>> = ({ id, label, children }) => (
  <div class="field">
    <label for={id}>{label}</label>
    {children}
  </div>
);

export const CsrfField: FC<{ session: ConsoleSession }> = ({ session }) => (
  <input type="hidden" name="_csrf" value={session.csrf} />
);

/** `titled={false}` when the page heading already says the title. */
export const ProblemAlert: FC<{ problem: FriendlyProblem; titled?: boolean }> = ({
  problem,
  titled = true,
}) => (
  <div class="alert error" role="alert">
    {titled && <strong>{problem.title}</strong>}
    <span>{problem.message}</span>
    {problem.fields.length > 0 && (
      <ul>
        {problem.fields.map((f) => (
          <li>
            {f.path ? `${f.path}: ` : ""}
            {f.message}
          </li>
        ))}
      </ul>
    )}
    {problem.requestId && <div class="rid">Request id: {problem.requestId}</div>}
  </div>
);

export const Notice: FC<{ text?: string }> = ({ text }) =>
  text ? (
    <div class="alert notice" role="status">
      {text}
    </div>
  ) : null;

export const Time: FC<{ iso: string | null | undefined }> = ({ iso }) =>
  iso ? (
    <time datetime={iso}>{`${iso.slice(0, 16).replace("T", " ")} UTC`}</time>
  ) : (
    <span class="muted">—</span>
  );

export const Badge: FC<{ value: string }> = ({ value }) => <span class={`badge ${value}`}>{value}</span>;

/** Sends a page with its doctype and the status that goes with it. */
export function renderPage(c: Context<ConsoleEnv>, page: Child, status: ContentfulStatusCode = 200) {
  return c.html(html`<!doctype html>${page}`, status);
}
