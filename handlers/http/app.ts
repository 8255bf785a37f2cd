import { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { CosError, toCosError } from "../../src/shared/errors.ts";
import { mountApi } from "./api.ts";
import { mountDiff } from "./diff.ts";
import { mountMcp } from "./mcp.ts";

const STATUS: Record<CosError["code"], 400 | 401 | 404 | 409 | 422 | 500 | 503> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  illegal_state: 409,
  unauthorized: 401,
  unavailable: 503,
  misconfigured: 500,
  internal: 500,
};

export function createHttpApp(ctx: AppContext): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    const cos = toCosError(error);
    return c.json({ error: { code: cos.code, message: cos.message } }, STATUS[cos.code]);
  });
  app.get("/healthz", async (c) => {
    const position = await ctx.store.lastPosition();
    return c.json({ ok: true, position });
  });
  mountApi(app, ctx);
  mountDiff(app, ctx);
  mountMcp(app, ctx);
  return app;
}
