import { Hono, type Context } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { claimRuns, heartbeat, reportRun, runStops, RUNNER_ID_PATTERN, RUNNER_ID_RULE, type RunOutcome } from "../../src/app/runs.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { listTasks, showTask } from "../../src/app/views.ts";
import { decideReview } from "../../src/app/review.ts";
import { parseStrict } from "../../src/config/strict.ts";
import { z } from "../../src/config/zod.ts";
import { FAILURE_REASONS, ISOLATIONS, TIERS, VERDICTS } from "../../src/domain/task/task.ts";
import { CHECK_LINE_MAX, CHECK_NAME, CHECK_OUTCOMES, CHECK_TAIL_LINES } from "../../src/domain/task/checks.ts";
import { MAX_CHANGED_PATHS } from "../../src/domain/task/flags.ts";
import { ForbiddenError, ValidationError } from "../../src/shared/errors.ts";
import { namesWithTokens, runnerCredential } from "../../src/app/runner-tokens.ts";
import { bodyBound, requireToken } from "./guards.ts";
import { runPasses } from "../../resolver/pass.ts";
import { enqueueDueDigests } from "../../src/outbox/digest.ts";
import { deliverNow } from "../../src/outbox/outbox.ts";

const id = z.number().check(z.int(), z.positive());
const runnerId = z.string().check(z.regex(RUNNER_ID_PATTERN, RUNNER_ID_RULE));

const claimBody = z.strictObject({
  runner: runnerId,
  slots: z.number().check(z.int(), z.gte(0), z.lte(64)),
  totalSlots: z.optional(z.number().check(z.int(), z.gte(0), z.lte(64))),
  agents: z.optional(z.nullable(z.array(z.string()))),
  labels: z.optional(z.array(z.string())),
  taskIds: z.optional(z.nullable(z.array(id))),
});
const heartbeatBody = z.strictObject({ taskId: id, attempt: id, runner: runnerId });
const stopsBody = z.strictObject({ runner: runnerId, runs: z.array(z.strictObject({ taskId: id, attempt: id })).check(z.maxLength(64)) });
const usage = z.nullable(
  z.strictObject({ costUsd: z.nullable(z.number()), inputTokens: z.nullable(z.number()), outputTokens: z.nullable(z.number()) }),
);
const checkRecord = z.strictObject({
  name: z.string().check(z.regex(CHECK_NAME, "a check's name: letters, digits, '-' or '_' (at most 40)")),
  outcome: z.enum(CHECK_OUTCOMES),
  exitCode: z.nullable(z.number().check(z.int())),
  durationMs: z.number().check(z.gte(0)),
  tail: z.array(z.string().check(z.maxLength(CHECK_LINE_MAX))).check(z.maxLength(CHECK_TAIL_LINES)),
  note: z.optional(z.nullable(z.string().check(z.maxLength(2000)))),
});
const changedPath = z.strictObject({
  path: z.string().check(z.minLength(1), z.maxLength(4096)),
  change: z.enum(["added", "modified", "deleted", "renamed"]),
  from: z.optional(z.string().check(z.maxLength(4096))),
});
/** A failed run's last lines and its log's path (optional: runners before they sent them). */
const lastWords = {
  tail: z.optional(z.array(z.string().check(z.maxLength(1000))).check(z.maxLength(20))),
  log: z.optional(z.nullable(z.string().check(z.maxLength(4096)))),
};
const reportBody = z.strictObject({
  taskId: id,
  attempt: id,
  runner: runnerId,
  outcome: z.discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("stopped"),
      worktree: z.nullable(z.strictObject({ path: z.string().check(z.maxLength(4096)), removed: z.boolean() })),
    }),
    z.strictObject({
      kind: z.literal("result"),
      markdown: z.string().check(z.maxLength(1_000_000)),
      exitCode: z.number().check(z.int()),
      durationMs: z.nullable(z.number()),
      diffStat: z.nullable(z.strictObject({ files: z.number(), insertions: z.number(), deletions: z.number() })),
      usage,
      cli: z.optional(z.nullable(z.object({ name: z.string(), version: z.nullable(z.string()), warning: z.nullable(z.string().check(z.maxLength(1000))) }))),
      checks: z.optional(z.nullable(z.array(checkRecord).check(z.maxLength(50)))),
      changes: z.optional(z.nullable(z.array(changedPath).check(z.maxLength(MAX_CHANGED_PATHS)))),
      ...lastWords,
    }),
    z.strictObject({
      kind: z.literal("failure"),
      reason: z.enum(FAILURE_REASONS),
      detail: z.string().check(z.maxLength(10_000)),
      retryAt: z.nullable(z.string()),
      ...lastWords,
    }),
  ]),
});
const taskBody = z.strictObject({
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
const verdictBody = z.strictObject({
  verdict: z.enum(VERDICTS),
  notes: z.optional(z.nullable(z.string())),
  attempt: z.optional(z.nullable(id)),
});

/** What a person may write for a field of the API's bodies: the CLI's and chat's words, and the singular of a plural. */
const ALIASES = { after: "blockedBy", blockers: "blockedBy", note: "notes", goal: "goalId", initiative: "initiativeId", skill: "skills" };

async function body<T>(c: Context, schema: Parameters<typeof parseStrict<T>>[0]): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ValidationError("the body must be JSON");
  }
  return parseStrict(schema, raw, ALIASES);
}

/** The JSON API and the scheduler's tick: 1 MB a body. The runner protocol: 4 MB (a report carries the result). */
const API_BODY = 1_000_000;
const RUNNER_BODY = 4_000_000;

/**
 * The JSON API, the runner protocol and the scheduler's tick (DESIGN §11), each behind its own credential:
 * COS_API_TOKEN opens /api and /cron (a person or their automation, recorded as actor `api`); a runner
 * credential (COS_RUNNER_TOKEN, or a per-runner token bound to its runner's name) opens /runner only, so
 * whatever an agent might steal from a runner can never queue, decide or read a task.
 */
export function mountApi(app: Hono, ctx: AppContext): void {
  const apiAuth = requireToken(
    { token: ctx.env.COS_API_TOKEN, closed: "the API is closed: set COS_API_TOKEN on the server to open it" },
    { message: "missing or wrong bearer token (the JSON API takes COS_API_TOKEN)" },
  );
  for (const path of ["/api/*", "/cron/*"]) app.use(path, apiAuth, bodyBound(API_BODY, "request"));
  // Its own app, to carry the runner its token names from the check to the routes.
  const runner = new Hono<{ Variables: { runnerName: string | null } }>();
  runner.use(
    "*",
    requireToken(
      {
        verifyToken: async (token, c) => {
          const credential = await runnerCredential(ctx, token);
          if (credential) c.set("runnerName", credential.runner);
          return credential !== null;
        },
      },
      { message: "missing or wrong runner token (COS_RUNNER_TOKEN, or one made by cos runner token add)" },
    ),
    bodyBound(RUNNER_BODY, "request"),
  );
  /** The runner a request may speak for: its token's own, or with COS_RUNNER_TOKEN any name that has no token of its own. */
  const speaksFor = async (bound: string | null, named: string): Promise<void> => {
    if (bound !== null && bound !== named) {
      throw new ForbiddenError(`this token belongs to runner ${bound}; a request naming runner ${named} is refused`);
    }
    if (bound === null && (await namesWithTokens(ctx)).has(named)) {
      throw new ForbiddenError(`runner ${named} has a token of its own (cos runner token add); COS_RUNNER_TOKEN cannot speak for it`);
    }
  };
  runner.post("/claim", async (c) => {
    const b = await body(c, claimBody);
    await speaksFor(c.get("runnerName"), b.runner);
    return c.json({ runs: await claimRuns(ctx, b) });
  });
  runner.post("/heartbeat", async (c) => {
    const b = await body(c, heartbeatBody);
    await speaksFor(c.get("runnerName"), b.runner);
    return c.json(await heartbeat(ctx, b.taskId, b.attempt, b.runner));
  });
  runner.post("/stops", async (c) => {
    const b = await body(c, stopsBody);
    await speaksFor(c.get("runnerName"), b.runner);
    return c.json({ stop: await runStops(ctx, b.runner, b.runs) });
  });
  runner.post("/report", async (c) => {
    const b = await body(c, reportBody);
    await speaksFor(c.get("runnerName"), b.runner);
    const { state } = await reportRun(ctx, b.taskId, b.attempt, b.runner, b.outcome as RunOutcome);
    return c.json({ taskId: state.id, status: state.status, attempt: state.attempt });
  });
  app.route("/runner", runner);

  // A platform's scheduler: the passes (each bounded, until none leaves work over), and the digest when it
  // is due (once a day), sent before answering.
  app.post("/cron/tick", async (c) => {
    const report = await runPasses(ctx, { runnerSlots: "count" });
    const digests = await enqueueDueDigests(ctx);
    const delivered = await deliverNow(ctx);
    return c.json({ ...report, digests, delivered });
  });

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
