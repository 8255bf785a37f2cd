import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AppContext } from "../app/context.ts";
import { ForbiddenError, UnauthorizedError } from "../shared/errors.ts";
import { dataDirOf } from "../shared/run-folder.ts";

// The review pages' links (DESIGN §13). A phone has no password to type and no cookie to carry, so each
// link carries its own key: what it opens (one task, or the queue), until when, and an HMAC of both under
// the server's link secret. A key that was changed, or that opens something else, is refused; so is one
// past its expiry. The secret is COS_LINK_SECRET, or one generated once and kept in the data folder.

/** How long a link opens its page. */
export const LINK_LIFETIME_MS = 7 * 24 * 3600_000;

/** What a key opens: one task's page, or the queue (the review queue, the queue, trust, and every task from them). */
export type LinkScope = { kind: "queue" } | { kind: "task"; taskId: number };

/** The pages, as their paths say them. */
export type PageRef = { page: "review" | "queue" | "trust" } | { page: "task"; taskId: number };

const SECRET_FILE = "link-secret";
const secrets = new WeakMap<AppContext, string>();

/** The link secret: COS_LINK_SECRET, else the data folder's, created on first use. */
export function linkSecret(ctx: AppContext): string {
  const known = secrets.get(ctx);
  if (known) return known;
  const secret = ctx.env.COS_LINK_SECRET ?? keptSecret(dataDirOf(ctx.config));
  secrets.set(ctx, secret);
  return secret;
}

/**
 * Reads `<dataDir>/link-secret`, writing a new one first when there is none. The new file is linked
 * into place whole, so a process starting at the same moment reads either nothing (and makes its own
 * attempt, which loses) or the complete secret, never half of it.
 */
function keptSecret(dataDir: string): string {
  const path = join(dataDir, SECRET_FILE);
  const existing = readSecret(path);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  const draft = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(draft, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  try {
    linkSync(draft, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    rmSync(draft, { force: true });
  }
  const kept = readSecret(path);
  if (!kept) throw new Error(`${path} is empty; remove it and the next start writes a new link secret`);
  return kept;
}

function readSecret(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim() || null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

const scopeCode = (scope: LinkScope) => (scope.kind === "queue" ? "q" : `t${scope.taskId}`);

function signature(secret: string, purpose: string): string {
  return createHmac("sha256", secret).update(purpose).digest("base64url").slice(0, 32);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A key opening `scope` for LINK_LIFETIME_MS from now: `q.<expiry>.<signature>` or `t42.<expiry>.<signature>`. */
export function signKey(ctx: AppContext, scope: LinkScope): string {
  const expires = Math.floor((ctx.clock().getTime() + LINK_LIFETIME_MS) / 1000);
  const code = scopeCode(scope);
  return `${code}.${expires}.${signature(linkSecret(ctx), `cos-page-link:v1:${code}:${expires}`)}`;
}

export interface PageAccess {
  key: string;
  scope: LinkScope;
  expiresAt: Date;
}

/**
 * The access a key gives to `page`, or the refusal: no key or an expired one is an UnauthorizedError (401),
 * a changed key or one signed for another page a ForbiddenError (403). Each says what went wrong; the page
 * that shows it says how to get a fresh link.
 */
export function checkKey(ctx: AppContext, key: string | undefined, page: PageRef): PageAccess {
  if (!key) throw new UnauthorizedError("this page opens only from a signed link, and the address has none");
  const m = /^(q|t(\d{1,12}))\.(\d{1,12})\.([\w-]{32})$/.exec(key);
  if (!m || !sameText(m[4]!, signature(linkSecret(ctx), `cos-page-link:v1:${m[1]}:${m[3]}`))) {
    throw new ForbiddenError("this link's signature does not match: it was changed, or the server's link secret has changed since it was made");
  }
  const scope: LinkScope = m[2] ? { kind: "task", taskId: Number(m[2]) } : { kind: "queue" };
  if (scope.kind === "task" && !(page.page === "task" && page.taskId === scope.taskId)) {
    throw new ForbiddenError(`this link opens task #${scope.taskId} only`);
  }
  const expiresAt = new Date(Number(m[3]) * 1000);
  if (ctx.clock().getTime() >= expiresAt.getTime()) {
    throw new UnauthorizedError(`this link expired at ${expiresAt.toISOString().slice(0, 16).replace("T", " ")} UTC; links last ${LINK_LIFETIME_MS / 86_400_000} days`);
  }
  return { key, scope, expiresAt };
}

/** The path of a page under the server (`/pages/task/42`), before the public URL's own path. */
export function pagePath(page: PageRef): string {
  return page.page === "task" ? `/pages/task/${page.taskId}` : `/pages/${page.page}`;
}

/** The public URL's path (`/cos` for `https://example.org/cos`), which a proxy strips before cos serve sees it. */
export function publicPathPrefix(ctx: AppContext): string {
  return ctx.env.COS_PUBLIC_URL ? new URL(ctx.env.COS_PUBLIC_URL).pathname.replace(/\/+$/, "") : "";
}

/** The address of `page` with `key`, as a page links to it (no origin: the same server). */
export function pageHref(ctx: AppContext, page: PageRef, key: string, extra: Record<string, string> = {}): string {
  return `${publicPathPrefix(ctx)}${pagePath(page)}?${new URLSearchParams({ k: key, ...extra })}`;
}

/** A fresh link to `page` for a card or digest, opening `scope`; null without COS_PUBLIC_URL (a phone could not reach it). */
export function publicPageLink(ctx: AppContext, page: PageRef, scope: LinkScope): string | null {
  const base = ctx.env.COS_PUBLIC_URL?.replace(/\/+$/, "");
  if (!base) return null;
  return `${base}${pagePath(page)}?k=${signKey(ctx, scope)}`;
}

/** The link a task's review card carries: its page, opening it alone. */
export const taskPageLink = (ctx: AppContext, taskId: number) => publicPageLink(ctx, { page: "task", taskId }, { kind: "task", taskId });

/** The link the digest and `/review` carry: the review queue, opening every page. */
export const reviewQueueLink = (ctx: AppContext) => publicPageLink(ctx, { page: "review" }, { kind: "queue" });

/**
 * The token a page's verdict form carries, bound to the key the page was opened with and to the task and
 * attempt it shows: a form made anywhere else, or for another attempt, does not have it.
 */
export function formToken(ctx: AppContext, key: string, taskId: number, attempt: number): string {
  return signature(linkSecret(ctx), `cos-page-form:v1:${key}:${taskId}:${attempt}`);
}

export function checkFormToken(ctx: AppContext, token: string | undefined, key: string, taskId: number, attempt: number): void {
  if (!token || !sameText(token, formToken(ctx, key, taskId, attempt))) {
    throw new ForbiddenError("this form was not made by this page: reload the page and try again");
  }
}
