import { decideTask, type TaskCommand } from "../domain/task/decide.ts";
import { taskStream, type AgentCli, type DiffStat, type FailureReason, type Isolation, type Tier, type Usage } from "../domain/task/task.ts";
import { parseResultSections } from "../domain/task/result.ts";
import type { CheckRecord } from "../domain/task/checks.ts";
import { reviewFlags, type ChangedPath } from "../domain/task/flags.ts";
import { buildDispatchPrompt } from "../prompt/build.ts";
import { loadPromptInput } from "../prompt/load.ts";
import { missingSkills } from "../prompt/skills.ts";
import { RUNNER_ID_PATTERN, RUNNER_ID_RULE } from "../domain/runner/tokens.ts";
import { IllegalStateError, ValidationError } from "../shared/errors.ts";
import type { Tx } from "../store/db.ts";
import type { EventMeta } from "../store/event-store.ts";
import type { AppContext } from "./context.ts";
import { metaOf } from "./execute.ts";
import { mintRunToken } from "./run-tokens.ts";
import { loadTaskIn, runTaskCommand } from "./tasks.ts";

// The narrow port between the resolver and runners (DESIGN §4, §7): claim, heartbeat, report.
// The local runner calls it in-process; remote runners reach it through the HTTP API.

export interface ClaimedRun {
  taskId: number;
  /** The fencing number: every heartbeat and report names it, and a stale one is refused. */
  attempt: number;
  title: string;
  agent: string;
  type: string;
  project: string | null;
  isolation: Isolation;
  tier: Tier;
  prompt: string;
  promptHash: string;
  leaseUntil: string;
  /** The run's MCP token (COS_MCP_TOKEN): valid while this attempt's lease lives. */
  mcpToken?: string;
  /**
   * Which dispatch of this attempt it is, from 1: a usage limit or an unclaimed dispatch runs the same attempt
   * again, and each try keeps its own run folder (absent from servers before it: 1).
   */
  try?: number;
}

export interface ClaimRequest {
  runner: string;
  /** Free slots now: at most this many runs are handed out. */
  slots: number;
  /** All the runner's slots, free or busy: what the resolver counts as capacity. */
  totalSlots?: number;
  /** Only tasks for these agents (a runner that has only some CLIs installed). */
  agents?: string[] | null;
  /** The runner's labels: a task whose agent asks for labels goes only to a runner that has them all. */
  labels?: string[];
  /** Only these tasks (`cos tick --wait` runs what its own pass dispatched). */
  taskIds?: number[] | null;
}

export { RUNNER_ID_PATTERN, RUNNER_ID_RULE } from "../domain/runner/tokens.ts";

/** A runner that claimed within this window counts as present when the resolver counts slots. */
export const RUNNER_FRESH_MS = 30_000;

/** Claims up to `slots` dispatched tasks, oldest dispatch first, in one write transaction. */
export async function claimRuns(ctx: AppContext, request: ClaimRequest): Promise<ClaimedRun[]> {
  if (!RUNNER_ID_PATTERN.test(request.runner)) throw new ValidationError(`runner id "${request.runner}" must be ${RUNNER_ID_RULE}`);
  if (!Number.isInteger(request.slots) || request.slots < 0) throw new ValidationError("slots must be a whole number ≥ 0");
  const now = ctx.clock();
  const meta: EventMeta = { at: now.toISOString(), actor: `runner:${request.runner}` };
  const leaseUntil = new Date(now.getTime() + ctx.config.resolver.leaseSeconds * 1000).toISOString();
  const labels = new Set(request.labels ?? []);
  const eligible = Object.entries(ctx.config.agents)
    .filter(([name, agent]) => (!request.agents?.length || request.agents.includes(name)) && agent.labels.every((l) => labels.has(l)))
    .map(([name]) => name);
  return ctx.store.transaction(async (tx) => {
    await tx.execute({
      sql: "INSERT OR REPLACE INTO runners (id, slots, labels, last_seen) VALUES (?, ?, ?, ?)",
      args: [request.runner, request.totalSlots ?? request.slots, JSON.stringify([...labels]), meta.at],
    });
    if (!eligible.length || request.slots === 0) return [];
    const ids = request.taskIds?.length ? request.taskIds : null;
    const rows = await tx.execute({
      sql: `SELECT id FROM tasks WHERE status = 'dispatched' AND (lease_until IS NULL OR lease_until > ?)
            AND agent IN (${eligible.map(() => "?").join(",")})
            ${ids ? `AND id IN (${ids.map(() => "?").join(",")})` : ""}
            ORDER BY dispatched_at, id LIMIT ?`,
      args: [meta.at, ...eligible, ...(ids ?? []), request.slots],
    });
    const claimed: ClaimedRun[] = [];
    for (const row of rows.rows) {
      const { state, version } = await loadTaskIn(tx, Number(row.id));
      // A skill that vanished since dispatch: leave the task unclaimed; the claim timeout queues it again,
      // without spending an attempt, and the resolver holds it with a note until the skill is back.
      if (missingSkills(ctx.config, state).length) continue;
      const prompt = buildDispatchPrompt(await loadPromptInput(tx, ctx.config, state, now), ctx.config.prompt.budgetTokens);
      const events = decideTask(
        { type: "StartTask", data: { attempt: state.attempt, runner: request.runner, leaseUntil, promptHash: prompt.hash } },
        state,
        meta,
      );
      await ctx.store.appendIn(tx, [{ stream: taskStream(state.id), expectedVersion: version, events }], meta);
      await tx.execute({
        sql: "INSERT OR REPLACE INTO leases (task_id, attempt, runner, lease_until) VALUES (?, ?, ?, ?)",
        args: [state.id, state.attempt, request.runner, leaseUntil],
      });
      const mcpToken = await mintRunToken(tx, { taskId: state.id, attempt: state.attempt, project: state.project }, meta.at);
      claimed.push({
        taskId: state.id,
        attempt: state.attempt,
        title: state.title,
        agent: state.agent,
        type: state.type,
        project: state.project,
        isolation: state.isolation ?? "direct",
        tier: state.dispatchTier ?? "gate",
        prompt: prompt.text,
        promptHash: prompt.hash,
        leaseUntil,
        mcpToken,
        try: Math.max(1, state.runs.filter((r) => r.attempt === state.attempt).length),
      });
    }
    return claimed;
  });
}

/**
 * Renews the lease of a running attempt. Heartbeats stay out of the log (DESIGN §2): they write the
 * `leases` table only. A heartbeat for an attempt that is no longer running is refused, which tells
 * the runner to stop the agent.
 */
export async function heartbeat(ctx: AppContext, taskId: number, attempt: number, runner: string): Promise<{ leaseUntil: string }> {
  const now = ctx.clock();
  const leaseUntil = new Date(now.getTime() + ctx.config.resolver.leaseSeconds * 1000).toISOString();
  return ctx.store.transaction(async (tx) => {
    await requireLease(tx, taskId, attempt, runner, now.toISOString());
    await tx.execute({
      sql: "UPDATE leases SET lease_until = ? WHERE task_id = ? AND attempt = ? AND runner = ?",
      args: [leaseUntil, taskId, attempt, runner],
    });
    return { leaseUntil };
  });
}

async function requireLease(tx: Tx, taskId: number, attempt: number, runner: string, now: string): Promise<void> {
  const { state } = await loadTaskIn(tx, taskId);
  const lease = (await tx.execute({ sql: "SELECT attempt, runner, lease_until FROM leases WHERE task_id = ?", args: [taskId] })).rows[0];
  const live =
    state.status === "running" &&
    state.attempt === attempt &&
    state.runner === runner &&
    lease !== undefined &&
    Number(lease.attempt) === attempt &&
    String(lease.runner) === runner &&
    String(lease.lease_until) > now;
  if (!live) {
    throw new IllegalStateError(
      `task #${taskId} attempt ${attempt} on ${runner}: lease lost (the task is ${state.status}, attempt ${state.attempt}); stop the run`,
    );
  }
}

/** What a failed run printed last (stderr first) and where its whole log is, on the runner's machine. */
export interface RunLastWords {
  tail?: string[];
  log?: string | null;
}

/** A run its runner ended because its task was cancelled: the agent is gone, the worktree freed or kept. */
export interface StoppedRun {
  kind: "stopped";
  worktree: { path: string; removed: boolean } | null;
}

export type RunOutcome =
  | StoppedRun
  | ({
      kind: "result";
      markdown: string;
      exitCode: number;
      durationMs: number | null;
      diffStat: DiffStat | null;
      usage: Usage | null;
      /** The agent CLI and its version, when the agent has a preset. */
      cli?: AgentCli | null;
      /** The project's checks on this result (DESIGN §14); absent when it has none. */
      checks?: CheckRecord[] | null;
      /** The paths the run changed (at most MAX_CHANGED_PATHS): the server flags sensitive ones. */
      changes?: ChangedPath[] | null;
    } & RunLastWords)
  | ({ kind: "failure"; reason: FailureReason; detail: string; retryAt: string | null } & RunLastWords);

/** A run's end. Refused for a stale attempt or a runner that no longer holds the lease. */
export async function reportRun(ctx: AppContext, taskId: number, attempt: number, runner: string, outcome: RunOutcome) {
  const meta = metaOf(ctx, `runner:${runner}`);
  return runTaskCommand(ctx, taskId, meta, (state): TaskCommand => {
    if (state.status === "running" && state.runner !== runner) {
      throw new IllegalStateError(`task #${taskId} is running on ${state.runner}, not ${runner}; report refused`);
    }
    if (outcome.kind === "stopped") return { type: "RecordRunStopped", data: { attempt, runner, worktree: outcome.worktree } };
    const output = { tail: outcome.tail ?? [], log: outcome.log ?? null, runner };
    if (outcome.kind === "failure") {
      return {
        type: "ReportFailure",
        data: { attempt, reason: outcome.reason, detail: outcome.detail, maxAttempts: ctx.config.resolver.maxAttempts, retryAt: outcome.retryAt, output },
      };
    }
    return {
      type: "ReportResult",
      data: {
        attempt,
        exitCode: outcome.exitCode,
        durationMs: outcome.durationMs,
        sections: parseResultSections(outcome.markdown),
        diffStat: outcome.diffStat,
        usage: outcome.usage,
        cli: outcome.cli ?? null,
        ...(outcome.checks ? { checks: outcome.checks } : {}),
        flags: reviewFlags(outcome, ctx.config.review),
        onFailedChecks: ctx.config.review.onFailedChecks,
        maxAttempts: ctx.config.resolver.maxAttempts,
        output,
      },
    };
  });
}

/** Why a runner must stop a run it has under way. */
export interface RunStop {
  taskId: number;
  attempt: number;
  /** cancelled: a person cancelled the task; gone: the attempt is no longer this runner's (its lease was lost). */
  reason: "cancelled" | "gone";
}

/**
 * Which of the runs a runner has under way it must stop now: their task was cancelled, or the attempt
 * is no longer running on it. A read, cheap enough to ask every second: a cancelled run stops within
 * moments, not at its next heartbeat.
 */
export async function runStops(ctx: AppContext, runner: string, runs: { taskId: number; attempt: number }[]): Promise<RunStop[]> {
  if (!RUNNER_ID_PATTERN.test(runner)) throw new ValidationError(`runner id "${runner}" must be ${RUNNER_ID_RULE}`);
  if (!runs.length) return [];
  const rows = await ctx.db.query<{ id: number; status: string; attempt: number; runner: string | null }>(
    `SELECT id, status, attempt, runner FROM tasks WHERE id IN (${runs.map(() => "?").join(",")})`,
    runs.map((r) => r.taskId),
  );
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const stops: RunStop[] = [];
  for (const run of runs) {
    const row = byId.get(run.taskId);
    if (row && row.status === "running" && Number(row.attempt) === run.attempt && row.runner === runner) continue;
    stops.push({ ...run, reason: row?.status === "cancelled" && Number(row.attempt) === run.attempt ? "cancelled" : "gone" });
  }
  return stops;
}

/**
 * Free runner slots for the resolver: the slots of runners seen within RUNNER_FRESH_MS, less the
 * tasks they run and the dispatches no runner has claimed yet.
 */
export async function freeRunnerSlots(db: { execute(s: { sql: string; args: (string | number)[] }): Promise<{ rows: Record<string, unknown>[] }> }, now: Date): Promise<number> {
  const since = new Date(now.getTime() - RUNNER_FRESH_MS).toISOString();
  const result = await db.execute({
    sql: `SELECT
            (SELECT COALESCE(SUM(slots), 0) FROM runners WHERE last_seen >= ?) AS slots,
            (SELECT COUNT(*) FROM tasks WHERE status = 'running' AND runner IN (SELECT id FROM runners WHERE last_seen >= ?)) AS running,
            (SELECT COUNT(*) FROM tasks WHERE status = 'dispatched') AS waiting`,
    args: [since, since],
  });
  const row = result.rows[0] ?? {};
  return Math.max(0, Number(row.slots ?? 0) - Number(row.running ?? 0) - Number(row.waiting ?? 0));
}
