import { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { mountApi } from "./api.ts";
import { errorResponse } from "./errors.ts";
import { mountMcp } from "./mcp.ts";
import { mountPages } from "../pages/routes.tsx";

export function createHttpApp(ctx: AppContext): Hono {
  const app = new Hono();
  // The one mapping of errors to responses, for the routes below and the webhooks platforms add.
  app.onError(errorResponse);
  app.get("/healthz", async (c) => {
    const position = await ctx.store.lastPosition();
    return c.json({ ok: true, position });
  });
  mountApi(app, ctx);
  mountMcp(app, ctx);
  mountPages(app, ctx);
  return app;
}
