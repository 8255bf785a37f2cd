import { createHmac, timingSafeEqual } from "node:crypto";
import type { Env } from "../config/env.ts";

// The diff link on a review card (DESIGN §10) opens in a browser, where no bearer token travels: the
// link carries a signature instead, an HMAC of the task id under a secret the server already has.
// Without such a secret there is no link. Never the runner token: whoever holds a runner credential
// could sign links and read every task's patch (DESIGN §11: a runner credential never reads tasks).

function linkKey(env: Env): string | null {
  return env.COS_LINK_SECRET ?? env.COS_API_TOKEN ?? env.TELEGRAM_WEBHOOK_SECRET ?? env.SLACK_SIGNING_SECRET ?? null;
}

function sign(key: string, taskId: number): string {
  return createHmac("sha256", key).update(`cos-diff-link:${taskId}`).digest("base64url").slice(0, 32);
}

/** `<COS_PUBLIC_URL>/diff/<id>?sig=…`, or null without a public URL or a secret to sign with. */
export function diffLink(env: Env, taskId: number): string | null {
  const base = env.COS_PUBLIC_URL?.replace(/\/+$/, "");
  const key = linkKey(env);
  if (!base || !key) return null;
  return `${base}/diff/${taskId}?sig=${sign(key, taskId)}`;
}

export function verifyDiffLink(env: Env, taskId: number, signature: string): boolean {
  const key = linkKey(env);
  if (!key) return false;
  const expected = Buffer.from(sign(key, taskId));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
