import type { Context, Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { claimRuns, heartbeat, reportRun, RUNNER_ID_PATTERN, RUNNER_ID_RULE, type RunOutcome } from "../../src/app/runs.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { listTasks, showTask } from "../../src/app/views.ts";
import { decideReview } from "../../src/app/review.ts";
import { z } from "../../src/config/zod.ts";
import { FAILURE_REASONS, ISOLATIONS, TIERS, VERDICTS } from "../../src/domain/task/task.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { requireToken } from "./guards.ts";
import { runPass } from "../../resolver/pass.ts";

const id = z.number().check(z.int(), z.positive());
const runnerId = z.string().check(z.regex(RUNNER_ID_PATTERN, RUNNER_ID_RULE));

const claimBody = z.object({
  runner: runnerId,
  slots: z.number().check(z.int(), z.gte(0), z.lte(64)),
  totalSlots: z.optional(z.number().check(z.int(), z.gte(0), z.lte(64))),
  agents: z.optional(z.nullable(z.array(z.string()))),
  labels: z.optional(z.array(z.string())),
  taskIds: z.optional(z.nullable(z.array(id))),
});
const heartbeatBody = z.object({ taskId: id, attempt: id, runner: runnerId });
const usage = z.nullable(
  z.object({ costUsd: z.nullable(z.number()), inputTokens: z.nullable(z.number()), outputTokens: z.nullable(z.number()) }),
);
const reportBody = z.object({
  taskId: id,
  attempt: id,
  runner: runnerId,
  outcome: z.discriminatedUnion("kind", [
    z.object({
      kind: z.literal("result"),
      markdown: z.string().check(z.maxLength(1_000_000)),
      exitCode: z.number().check(z.int()),
      durationMs: z.nullable(z.number()),
      diffStat: z.nullable(z.object({ files: z.number(), insertions: z.number(), deletions: z.number() })),
      usage,
      cli: z.optional(z.nullable(z.object({ name: z.string(), version: z.nullable(z.string()), warning: z.nullable(z.string().check(z.maxLength(1000))) }))),
    }),
    z.object({
      kind: z.literal("failure"),
      reason: z.enum(FAILURE_REASONS),
      detail: z.string().check(z.maxLength(10_000)),
      retryAt: z.nullable(z.string()),
    }),
  ]),
});
const taskBody = z.object({
  title: z.string(),
  type: z.string(),
  agent: z.string(),
  description: z.optional(z.string()),
  project: z.optional(z.nullable(z.string())),
  goalId: z.optional(z.nullable(id)),
  initiativeId: z.optional(z.nullable(id)),
  blockedBy: z.optional(z.array(id)),
  area: z.optional(z.nullable(z.string())),
  isolation: z.optional(z.nullable(z.enum(ISOLATIONS))),
  tier: z.optional(z.nullable(z.enum(TIERS))),
  priority: z.optional(z.number().check(z.int())),
  skills: z.optional(z.array(z.string())),
});
const verdictBody = z.object({
  verdict: z.enum(VERDICTS),
  notes: z.optional(z.nullable(z.string())),
  attempt: z.optional(z.nullable(id)),
});

async function body<T>(c: Context, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ValidationError("the body must be JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(`${issue.path.map(String).join(".") || "body"}: ${issue.message}`);
  }
  return parsed.data;
}

/** The JSON API, the runner protocol and the scheduler's tick: DESIGN §11. */
export function mountApi(app: Hono, ctx: AppContext): void {
  // Bearer COS_RUNNER_TOKEN on every API route; without a configured token the API is closed.
  const auth = requireToken(
    { token: ctx.env.COS_RUNNER_TOKEN, closed: "the API is closed: set COS_RUNNER_TOKEN on the server to open it" },
    { message: "missing or wrong bearer token" },
  );
  for (const path of ["/runner/*", "/api/*", "/cron/*"]) app.use(path, auth);

  app.post("/runner/claim", async (c) => c.json({ runs: await claimRuns(ctx, await body(c, claimBody)) }));
  app.post("/runner/heartbeat", async (c) => {
    const b = await body(c, heartbeatBody);
    return c.json(await heartbeat(ctx, b.taskId, b.attempt, b.runner));
  });
  app.post("/runner/report", async (c) => {
    const b = await body(c, reportBody);
    const { state } = await reportRun(ctx, b.taskId, b.attempt, b.runner, b.outcome as RunOutcome);
    return c.json({ taskId: state.id, status: state.status, attempt: state.attempt });
  });

  app.post("/cron/tick", async (c) => c.json(await runPass(ctx, { runnerSlots: "count" })));

  app.get("/api/tasks", async (c) => c.json(await listTasks(ctx, c.req.query("status") ?? "all")));
  app.get("/api/tasks/:id", async (c) => c.json(await showTask(ctx, pathId(c.req.param("id")))));
  app.post("/api/tasks", async (c) => c.json({ id: await queueTask(ctx, await body(c, taskBody), "api") }, 201));
  app.post("/api/tasks/:id/verdict", async (c) => {
    const b = await body(c, verdictBody);
    const { state } = await decideReview(ctx, pathId(c.req.param("id")), b.verdict, b.notes ?? null, "api", b.attempt ?? null);
    return c.json({ taskId: state.id, status: state.status, attempt: state.attempt });
  });
}

function pathId(value: string): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new ValidationError(`"${value}" is not a task id`);
  return Number(value);
}
