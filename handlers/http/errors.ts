import type { ErrorHandler } from "hono";
import { type CosError, toCosError } from "../../src/shared/errors.ts";

// One way to say no over HTTP (hono's model: throw, map once). Routes, webhooks and middleware throw
// the CosError family; `errorResponse` is the app's one onError, and `jsonRpcErrorResponse` the one
// for the MCP endpoint, whose client reads a JSON-RPC error body. Both take the status from STATUS.

const STATUS: Record<CosError["code"], 400 | 401 | 403 | 404 | 409 | 413 | 500> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  illegal_state: 409,
  unauthorized: 401,
  forbidden: 403,
  too_large: 413,
  internal: 500,
};

/** The HTTP status of an error of our family. */
export const statusOf = (error: CosError) => STATUS[error.code];

/** `{ error: { code, message } }` with the code's status: what the API, webhooks and runners read. */
export const errorResponse: ErrorHandler = (error, c) => {
  const cos = toCosError(error);
  return c.json({ error: { code: cos.code, message: cos.message } }, STATUS[cos.code]);
};

/** JSON-RPC's error shape, with the same status (an MCP client reads `error.message`). */
export const jsonRpcErrorResponse: ErrorHandler = (error, c) => {
  const cos = toCosError(error);
  return c.json({ jsonrpc: "2.0", error: { code: -32001, message: cos.message }, id: null }, STATUS[cos.code]);
};
