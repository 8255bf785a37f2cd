import { CosError, MisconfiguredError, UnavailableError } from "../shared/errors.ts";

// What the libSQL client throws when a remote store is away or refuses us, turned into errors a
// person can act on: which variable to look at, and whether waiting helps (exit 3) or a fix is
// needed (exit 2). Anything else (an SQL error, a constraint) passes through unchanged.

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused (nothing listens there, or the server is down)",
  ECONNRESET: "the connection was cut",
  ENOTFOUND: "the host name does not resolve",
  EAI_AGAIN: "the host name does not resolve (DNS is not answering)",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
};

/** The error chain of `error`, outermost first. */
function chain(error: unknown): { code?: unknown; message?: unknown; status?: unknown; name?: unknown }[] {
  const out: { code?: unknown; message?: unknown; status?: unknown }[] = [];
  let current = error as { cause?: unknown } | null | undefined;
  for (let depth = 0; current && typeof current === "object" && depth < 8; depth++) {
    out.push(current as never);
    current = current.cause as typeof current;
  }
  return out;
}

function httpStatus(error: unknown): number | null {
  for (const e of chain(error)) {
    if (typeof e.status === "number") return e.status;
    const match = typeof e.message === "string" ? /HTTP status (\d{3})/.exec(e.message) : null;
    if (match) return Number(match[1]);
  }
  return null;
}

/** Why the store cannot be reached, when that is what `error` says; null for any other error. */
export function unreachableReason(error: unknown): string | null {
  const links = chain(error);
  for (const e of links) {
    const code = typeof e.code === "string" ? e.code : null;
    if (code && NETWORK_CODES.has(code)) return REASONS[code] ?? `${code}${typeof e.message === "string" ? ` (${e.message})` : ""}`;
  }
  const status = httpStatus(error);
  if (status !== null && (status === 502 || status === 503 || status === 504 || status === 429)) return `the server answered HTTP ${status}`;
  const first = links[0];
  if (first && first.message === "fetch failed") {
    const inner = links[1]?.message;
    return typeof inner === "string" && inner ? `fetch failed (${inner})` : "fetch failed";
  }
  if (links.some((e) => e.code === "STREAM_EXPIRED" || /other side closed|socket hang up/i.test(String(e.message ?? "")))) {
    return "the connection was cut";
  }
  return null;
}

/**
 * A remote store's error as a CosError a person can act on: unreachable → UnavailableError (exit 3),
 * a refused token → MisconfiguredError naming COS_DB_AUTH_TOKEN (exit 2). `url` is COS_DB_URL as shown.
 */
export function storeError(error: unknown, url: string): unknown {
  if (error instanceof CosError) return error;
  const status = httpStatus(error);
  if (status === 401 || status === 403) {
    return new MisconfiguredError(
      `the store at COS_DB_URL=${url} refused the token (HTTP ${status}): set COS_DB_AUTH_TOKEN to a token that store accepts ` +
        "(Turso: turso db tokens create <database>)",
      { cause: error },
    );
  }
  const reason = unreachableReason(error);
  if (reason !== null) return new UnavailableError(`the store at COS_DB_URL=${url} can't be reached: ${reason}`, { cause: error });
  return error;
}
