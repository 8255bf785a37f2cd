import { createHash } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { ForbiddenError, TooLargeError, UnauthorizedError } from "../../src/shared/errors.ts";

// The checks in front of routes, built on hono's own middleware. Each refuses by throwing the CosError
// family, so that errors.ts gives every refusal its status and body in one place.

type TokenCheck =
  /** A configured token; unset, every request is refused with `closed`. */
  | { token: string | undefined; closed: string }
  | { verifyToken: (token: string, c: Context) => boolean | Promise<boolean> };

interface Refusal {
  /** Why a request without the right token is refused. */
  message: string;
  /** Another header than Authorization; with `prefix: ""` it carries the bare secret. */
  headerName?: string;
  prefix?: string;
}

/**
 * hono's bearer-auth, refusing in our words: no header, a malformed one or a wrong token is an
 * UnauthorizedError (401 in the API's body), never bearer-auth's own plain-text 400 or 401. With
 * `headerName` and an empty `prefix` it checks a secret header (Telegram's webhook secret) the same way.
 */
export function requireToken(check: TokenCheck, { message, ...header }: Refusal): MiddlewareHandler {
  if ("token" in check && !check.token) {
    const closed = check.closed;
    return async () => {
      throw new UnauthorizedError(closed);
    };
  }
  const refuse = {
    message: (): never => {
      throw new UnauthorizedError(message);
    },
  };
  const options = { ...header, hashFunction: sha256, noAuthenticationHeader: refuse, invalidAuthenticationHeader: refuse, invalidToken: refuse };
  return "verifyToken" in check ? bearerAuth({ verifyToken: check.verifyToken, ...options }) : bearerAuth({ token: check.token!, ...options });
}

/**
 * The hash bearer-auth compares tokens by: node's, in this thread. bearer-auth's default goes through
 * crypto.subtle, two thread-pool round trips per request, which a webhook under load feels.
 */
const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");

/** Bounds a body: by its Content-Length, or while it is read when it has none (chunked). */
export function bodyBound(maxBytes: number, what: string): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new TooLargeError(`${what} too large`);
    },
  });
}

/**
 * Refuses a form posted from another site: hono's csrf check (the browser's Origin, or Sec-Fetch-Site,
 * must be this server's), where this server is also the public URL a proxy serves it at.
 */
export function sameOriginForms(publicUrl: string | undefined): MiddlewareHandler {
  const publicOrigin = publicUrl ? new URL(publicUrl).origin : null;
  const check = csrf({ origin: (origin, c) => origin === new URL(c.req.url).origin || origin === publicOrigin });
  return async (c, next) => {
    try {
      await check(c, async () => {});
    } catch {
      throw new ForbiddenError("this form was sent from another site: open the page from its link and use its buttons");
    }
    await next();
  };
}
