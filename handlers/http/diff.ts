import type { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { verifyDiffLink } from "../../src/chat/diff-link.ts";
import { taskDiff } from "../../src/chat/views.ts";
import { UnauthorizedError, ValidationError } from "../../src/shared/errors.ts";

/** `GET /diff/:id?sig=…`: the patch behind a review card's diff link, for a browser (no bearer token). */
export function mountDiff(app: Hono, ctx: AppContext): void {
  app.get("/diff/:id", async (c) => {
    const raw = c.req.param("id");
    if (!/^\d{1,12}$/.test(raw) || Number(raw) < 1) throw new ValidationError(`"${raw}" is not a task id`);
    const id = Number(raw);
    if (!verifyDiffLink(ctx.env, id, c.req.query("sig") ?? "")) throw new UnauthorizedError("this diff link is not valid (signed for another task, or the server's secret changed)");
    const patch = await taskDiff(ctx, id);
    return c.body(patch, 200, {
      "content-type": "text/plain; charset=utf-8",
      "content-disposition": `inline; filename="task-${id}.patch"`,
      "cache-control": "private, no-store",
    });
  });
}
