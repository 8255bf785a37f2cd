import { join } from "node:path";
import { BAD_ENDINGS, blockersEndedBadly } from "../domain/task/dependencies.ts";
import { taskBranch } from "../domain/task/refs.ts";
import { ALL_STATUSES, OPEN_STATUSES, type TaskState, type TaskStatus } from "../domain/task/task.ts";
import { autoApprovalDue, keptForFailedChecks, reviewTier } from "../domain/task/auto-approval.ts";
import { checksFailed } from "../domain/task/checks.ts";
import { flagText } from "../domain/task/flags.ts";
import { blockerEndedWords } from "../plan/hold-words.ts";
import { failureHeadline } from "./run-words.ts";
import { ValidationError } from "../shared/errors.ts";
import { hintsFor, type Hints } from "../shared/hints.ts";
import { packedRows } from "../store/packed.ts";
import type { AppContext } from "./context.ts";
import { loadTask } from "./tasks.ts";

// Read models shared by every adapter: the CLI prints them, chat renders them, HTTP returns them.

export interface TaskListItem {
  id: number;
  title: string;
  type: string;
  agent: string;
  status: TaskStatus;
  attempt: number;
  priority: number;
  area: string | null;
  blockedBy: number[];
  /** Why a queued task cannot go on until a person acts: a blocker that ended badly. */
  held: string | null;
}

const LISTED_TASK = packedRows<Omit<TaskListItem, "blockedBy" | "held"> & { blockedBy: string | null }>({
  id: "id",
  title: "title",
  type: "type",
  agent: "agent",
  status: "status",
  attempt: "attempt",
  priority: "priority",
  area: "area",
  blockedBy: "blocked_by",
});

/**
 * `status` is a status, a comma list of them, `open` or `all` (the default). A held task's way out is
 * written for where the list is read (`hints`).
 */
export async function listTasks(ctx: AppContext, status = "all", hints: Hints = hintsFor("cli")): Promise<TaskListItem[]> {
  const statuses = parseStatusFilter(status);
  const filter = statuses ? `WHERE status IN (${statuses.map(() => "?").join(",")})` : "";
  const [list, bad] = await ctx.db.snapshot([
    {
      sql: `SELECT ${LISTED_TASK.select} AS list FROM (SELECT * FROM tasks ${filter} ORDER BY id) t`,
      args: statuses ?? [],
    },
    {
      sql: `SELECT b.task_id, b.blocker_id, t.status FROM task_blockers b JOIN tasks t ON t.id = b.blocker_id
            WHERE t.status IN (${BAD_ENDINGS.map(() => "?").join(",")}) ORDER BY b.task_id, b.blocker_id`,
      args: [...BAD_ENDINGS],
    },
  ]);
  const badBlockers = new Map<number, { id: number; status: TaskStatus }[]>();
  for (const row of bad!.rows) {
    const id = Number(row.task_id);
    badBlockers.set(id, [...(badBlockers.get(id) ?? []), { id: Number(row.blocker_id), status: row.status as TaskStatus }]);
  }
  const f = LISTED_TASK.read;
  return LISTED_TASK.rows(list!.rows[0]?.list).map((r) => {
    const id = f.id(r);
    const status = f.status(r);
    const blockedBy = f.blockedBy(r);
    return {
      id,
      title: f.title(r),
      type: f.type(r),
      agent: f.agent(r),
      status,
      attempt: f.attempt(r),
      priority: f.priority(r),
      area: f.area(r),
      blockedBy: blockedBy ? blockedBy.split(",").map(Number).sort((a, b) => a - b) : [],
      held: status === "queued" ? heldReason(id, badBlockers.get(id) ?? [], hints) : null,
    };
  });
}

/** Why a queued task waits for a person: a blocker that ended badly, in the words `cos why` uses. */
function heldReason(taskId: number, blockers: { id: number; status: TaskStatus }[], hints: Hints): string | null {
  const ended = blockersEndedBadly(blockers);
  return ended.length ? blockerEndedWords(ended, taskId, hints) : null;
}

function parseStatusFilter(status: string): TaskStatus[] | null {
  if (status === "all") return null;
  if (status === "open") return [...OPEN_STATUSES];
  const parts = status.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = parts.filter((p) => !ALL_STATUSES.includes(p as TaskStatus));
  if (bad.length || !parts.length) {
    throw new ValidationError(`unknown status "${bad.join(",") || status}": use open, all, or one of ${ALL_STATUSES.join(", ")}`);
  }
  return parts as TaskStatus[];
}

export async function showTask(ctx: AppContext, id: number, hints: Hints = hintsFor("cli")) {
  const { state: t } = await loadTask(ctx, id);
  const [blockerRows, goalRows, initiativeRows] = await ctx.db.snapshot([
    {
      sql: `SELECT id, status, title FROM tasks WHERE id IN (SELECT blocker_id FROM task_blockers WHERE task_id = ?) ORDER BY id`,
      args: [id],
    },
    { sql: "SELECT id, title, success FROM goals WHERE id = ?", args: [t.goalId] },
    { sql: "SELECT id, title, success FROM initiatives WHERE id = ?", args: [t.initiativeId] },
  ]);
  const blockers = blockerRows!.rows.map((r) => ({ id: Number(r.id), status: r.status as TaskStatus, title: String(r.title) }));
  const goal = goalRows!.rows[0];
  const initiative = initiativeRows!.rows[0];
  const isolation = t.isolation ?? (t.type === "code" ? "worktree" : null);
  return {
    id: t.id,
    title: t.title,
    description: t.description,
    type: t.type,
    agent: t.agent,
    project: t.project,
    status: t.status,
    tier: t.dispatchTier ?? t.tierPin,
    tierPin: t.tierPin,
    attempt: t.attempt,
    priority: t.priority,
    blockedBy: t.blockedBy,
    blockers,
    held: t.status === "queued" ? heldReason(t.id, blockers, hints) : null,
    area: t.area,
    isolation,
    skills: t.skills ?? [],
    /** The run that queued it, when an agent did (through the MCP server's create_task). */
    createdBy: t.createdBy ?? null,
    goal: goal ? { id: Number(goal.id), title: String(goal.title), success: (goal.success as string | null) ?? null } : null,
    initiative: initiative
      ? { id: Number(initiative.id), title: String(initiative.title), success: (initiative.success as string | null) ?? null }
      : null,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    activity: t.activity,
    result: t.result
      ? {
          summary: t.result.summary,
          handoff: t.result.handoff,
          whatWorked: t.result.whatWorked,
          reusablePattern: t.result.reusablePattern,
          exitCode: t.result.exitCode,
          attempt: t.result.attempt,
          at: t.result.at,
          diffStat: t.result.diffStat,
          durationMs: t.result.durationMs,
          usage: t.result.usage ?? null,
          cli: t.result.cli ?? null,
          /** The project's checks on this result, each with its last lines; null when its project has none. */
          checks: t.result.checks ?? null,
          /** What deserves a closer look, each with the words a card shows. */
          flags: (t.result.flags ?? []).map((flag) => ({ ...flag, text: flagText(flag) })),
        }
      : null,
    /** Whether the tier's timer may approve it: false for gate and for a result whose checks failed. */
    autoApproval: t.result ? autoApprovalOf(ctx, t) : null,
    feedback: t.feedback ? { notes: t.feedback.notes, attempt: t.feedback.attempt, automatic: t.feedback.automatic === true } : null,
    verdicts: t.verdicts,
    /** The last failure: its reason and detail, the agent's last lines (stderr first), and where its whole log is. */
    failure: t.failure,
    failureHeadline: t.failure
      ? failureHeadline({ ...t.failure, final: t.status === "failed" }, t.attempt, ctx.config.resolver.claimTimeoutMinutes, ctx.config.digest.timezone)
      : null,
    worktree:
      isolation === "worktree" && t.dispatchedAt
        ? { path: join(ctx.config.worktreeRoot, String(t.id)), branch: taskBranch(t.id) }
        : null,
  };
}

export type TaskView = Awaited<ReturnType<typeof showTask>>;

/** The timer of a result: when it approves it (null: never), and whether a failed check is why it never will. */
function autoApprovalOf(ctx: AppContext, t: TaskState): { at: string | null; keptForFailedChecks: boolean } {
  const item = { tier: reviewTier(t.dispatchTier), resultAt: t.finishedAt ?? t.updatedAt, checksFailed: checksFailed(t.result) };
  const due = autoApprovalDue(item, ctx.config.review.autoApproveHours);
  return { at: due === null ? null : new Date(due).toISOString(), keptForFailedChecks: keptForFailedChecks(item) };
}

export async function listGoals(ctx: AppContext) {
  const rows = await ctx.db.query<{ id: number; title: string; success: string | null; project: string | null }>(
    "SELECT id, title, success, project FROM goals ORDER BY id",
  );
  return rows.map((r) => ({ id: Number(r.id), title: r.title, success: r.success, project: r.project }));
}

export async function listInitiatives(ctx: AppContext) {
  const rows = await ctx.db.query<{ id: number; goal_id: number; title: string; success: string | null }>(
    "SELECT id, goal_id, title, success FROM initiatives ORDER BY id",
  );
  return rows.map((r) => ({ id: Number(r.id), goalId: Number(r.goal_id), title: r.title, success: r.success }));
}
