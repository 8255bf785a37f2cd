import { checkType } from "../config/config.ts";
import { MAX_AGENT_GENERATIONS } from "../domain/task/decide.ts";
import { IllegalStateError, ValidationError } from "../shared/errors.ts";
import { nightStart } from "../plan/night.ts";
import type { AppContext } from "./context.ts";
import type { RunScope } from "./run-tokens.ts";
import { queueTask } from "./tasks.ts";

// `create_task` for agents: a follow-up in the creator's project, reviewed at tier gate, blocked only on
// tasks the agent can see, and a runaway guard — so many per run, so many per night, chains at most
// MAX_AGENT_GENERATIONS deep.

export interface FollowUpInput {
  title: string;
  description?: string | undefined;
  type?: string | undefined;
  agent?: string | undefined;
  /** Default: the creating task itself, so the follow-up waits for a person to approve its origin. */
  blockedBy?: number[] | undefined;
  area?: string | undefined;
  skills?: string[] | undefined;
}

export interface FollowUpReceipt {
  id: number;
  blockedBy: number[];
  tier: "gate";
  leftThisRun: number;
  leftTonight: number;
}

export async function queueFollowUp(ctx: AppContext, scope: RunScope, input: FollowUpInput): Promise<FollowUpReceipt> {
  const { maxTasksPerRun, maxTasksPerNight } = ctx.config.mcp;
  const type = input.type ?? scope.type;
  checkType(ctx.config, type);
  const blockedBy = [...new Set(input.blockedBy ?? [scope.taskId])];
  const generation = scope.generation + 1;
  if (generation > MAX_AGENT_GENERATIONS) {
    throw new IllegalStateError(
      `refused: task #${scope.taskId} was itself created by an agent (generation ${scope.generation}); chains deeper than ` +
        `${MAX_AGENT_GENERATIONS} agent-created generations are not allowed. Describe the follow-up in your result's Handoff for a person to queue`,
    );
  }
  let counts = { run: 0, night: 0 };
  const guard = async () => {
    counts = await followUpCounts(ctx, scope);
    if (counts.run >= maxTasksPerRun) {
      throw new IllegalStateError(
        `refused: this run already queued ${counts.run} task${counts.run === 1 ? "" : "s"}, the most one run may (mcp.maxTasksPerRun = ${maxTasksPerRun}); ` +
          `put further follow-ups in your result's Handoff instead`,
      );
    }
    if (counts.night >= maxTasksPerNight) {
      throw new IllegalStateError(
        `refused: agents already queued ${counts.night} tasks tonight, the most allowed (mcp.maxTasksPerNight = ${maxTasksPerNight}); ` +
          `put further follow-ups in your result's Handoff instead`,
      );
    }
    await requireVisible(ctx, scope, blockedBy);
  };
  const id = await queueTask(
    ctx,
    {
      title: input.title,
      description: input.description ?? "",
      type,
      agent: input.agent ?? scope.agent,
      project: scope.project,
      goalId: scope.goalId,
      initiativeId: scope.initiativeId,
      blockedBy,
      area: input.area ?? null,
      tier: "gate",
      priority: 0,
      skills: input.skills ?? [],
      createdBy: { taskId: scope.taskId, attempt: scope.attempt, generation },
    },
    `agent:${scope.agent}`,
    { guard, exactProject: true },
  );
  return { id, blockedBy, tier: "gate", leftThisRun: maxTasksPerRun - counts.run - 1, leftTonight: maxTasksPerNight - counts.night - 1 };
}

/** Tasks this run queued, and tasks agents queued since the night began (DESIGN §4's night). */
async function followUpCounts(ctx: AppContext, scope: RunScope): Promise<{ run: number; night: number }> {
  const since = nightStart(ctx.clock(), ctx.config.resolver.budget?.nightStartsAt ?? "18:00", ctx.config.digest.timezone);
  const [run, night] = await ctx.db.snapshot([
    { sql: "SELECT COUNT(*) AS n FROM task_origins WHERE parent_task_id = ? AND parent_attempt = ?", args: [scope.taskId, scope.attempt] },
    { sql: "SELECT COUNT(*) AS n FROM task_origins WHERE created_at >= ?", args: [since] },
  ]);
  return { run: Number(run!.rows[0]?.n ?? 0), night: Number(night!.rows[0]?.n ?? 0) };
}

/** A blocker must be a task of the run's own project: another project's ids are as good as unknown. */
async function requireVisible(ctx: AppContext, scope: RunScope, ids: number[]): Promise<void> {
  if (!ids.length) return;
  if (ids.length > 20) throw new ValidationError("at most 20 blockers");
  const rows = await ctx.db.query<{ id: number }>(
    `SELECT id FROM tasks WHERE project IS ? AND id IN (${ids.map(() => "?").join(",")})`,
    [scope.project, ...ids],
  );
  const seen = new Set(rows.map((r) => Number(r.id)));
  const unseen = ids.filter((id) => !seen.has(id));
  if (unseen.length) throw new ValidationError(`${unseen.map((id) => `task #${id}`).join(", ")} ${unseen.length === 1 ? "does" : "do"} not exist in this project`);
}
