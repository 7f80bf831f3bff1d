/**
 * What an email template is, and the frame every email shares. Bodies are rendered with Hono
 * JSX, which escapes every interpolated value in text and attributes, so a tenant named
 * `<script>` stays text in the HTML part. Subjects lose control characters, so a name with a
 * line break cannot add a mail header.
 */
import type { Child, FC, PropsWithChildren } from "hono/jsx";
import { z } from "zod";

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Renders a row's stored payload (and opened secret, if the message has one); throws on one that does not fit. */
export type EmailTemplate = (payload: unknown, secret: string | undefined) => Promise<RenderedEmail>;

/**
 * A template over `schema`: what `notifications.payload` holds for it, checked again when the
 * row is sent (the row is data, and data outlives the code that wrote it).
 */
export function emailTemplate<Payload>(
  schema: z.ZodType<Payload>,
  render: (payload: Payload, secret: string | undefined) => Promise<RenderedEmail>,
): EmailTemplate {
  return (payload, secret) => {
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new Error("the stored payload does not fit its template");
    return render(parsed.data, secret);
  };
}

/** A timestamp as emails show it: `2026-12-01 03:00 UTC`. */
export function utcMinute(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")} UTC`;
}

const MAX_SUBJECT = 200;

/** One line, no control characters (CR/LF would start a new header), at most MAX_SUBJECT characters. */
export function subjectLine(text: string): string {
  const line = text
    .replace(/\p{Cc}+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  return line.length > MAX_SUBJECT ? `${line.slice(0, MAX_SUBJECT - 1)}…` : line;
}

/** What every email to a tenant's admins names: the tenant (its payload carries both). */
export const tenantFields = { tenant_name: z.string(), tenant_slug: z.string() };

/** The tenant as those emails name it: `Acme (acme)`. */
export function tenantLabel(payload: { tenant_name: string; tenant_slug: string }): string {
  return `${payload.tenant_name} (${payload.tenant_slug})`;
}

const ADMIN_FOOTER = "You get this email as an admin of the tenant.";

/**
 * An email to a tenant's admins: the subject made one line, the text paragraphs and the HTML
 * body, each closed by why the reader gets it.
 */
export async function adminEmail(subject: string, text: string[], html: Child): Promise<RenderedEmail> {
  const line = subjectLine(subject);
  return {
    subject: line,
    text: [...text, "", ADMIN_FOOTER].join("\n"),
    html: await renderHtml(
      line,
      <>
        {html}
        <p>{ADMIN_FOOTER}</p>
      </>,
    ),
  };
}

/** The HTML part: a minimal document whose every value went through JSX escaping. */
export async function renderHtml(title: string, body: Child): Promise<string> {
  const page = <Frame title={title}>{body}</Frame>;
  return `<!doctype html>${await page.toString()}`;
}

const Frame: FC<PropsWithChildren<{ title: string }>> = ({ title, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{title}</title>
    </head>
    <body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2328; max-width: 36rem; margin: 0 auto; padding: 1.5rem;">
      {children}
      <p style="color: #59636e; font-size: 0.875rem;">
        Sent by Tenantry. You get this email because someone entered your address; you can ignore it.
      </p>
    </body>
  </html>
);
