/**
 * The email transport: SMTP submission over `cloudflare:sockets` with worker-mailer, one
 * connection per message (a queue batch is small, and a connection never outlives the
 * invocation that opened it). `tls` is implicit TLS (port 465), `starttls` upgrades a plain
 * connection (port 587), `none` is the local mail catcher's plain SMTP (development only,
 * refused by env.ts elsewhere). The library's own logging stays off: at its debug level it
 * prints the SMTP dialogue, credentials and message bodies included.
 */
import { LogLevel, WorkerMailer } from "worker-mailer";
import type { Config } from "../env";
import type { RenderedEmail } from "./email-template";

/** Connecting, and each server answer, must come within this. */
const SMTP_TIMEOUT_MS = 10_000;

export interface OutgoingEmail extends RenderedEmail {
  /** The notification's id: the Message-ID, the same on every attempt, so a re-send is recognisable. */
  id: string;
  to: string;
}

/** The configuration cannot send anything: no retry will help until it is fixed. */
export class MailNotConfigured extends Error {
  override name = "MailNotConfigured";
}

export async function sendEmail(config: Config, email: OutgoingEmail): Promise<void> {
  const from = config.MAIL_FROM;
  if (!config.SMTP_HOST || !from) throw new MailNotConfigured("SMTP_HOST and MAIL_FROM are not set");
  const credentials =
    config.SMTP_USER !== undefined && config.SMTP_PASSWORD !== undefined
      ? { username: config.SMTP_USER, password: config.SMTP_PASSWORD }
      : undefined;
  const mailer = await WorkerMailer.connect({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: config.SMTP_SECURITY === "tls",
    startTls: config.SMTP_SECURITY === "starttls",
    ...(credentials ? { credentials, authType: ["plain", "login"] as const } : {}),
    logLevel: LogLevel.NONE,
    // worker-mailer 1.2.1 takes its response timeout from this option too.
    socketTimeoutMs: SMTP_TIMEOUT_MS,
    responseTimeoutMs: SMTP_TIMEOUT_MS,
  });
  try {
    await mailer.send({
      from,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      headers: { "Message-ID": `<${email.id}@${from.email.split("@").pop()}>` },
    });
  } finally {
    await mailer.close();
  }
}
