import { decideTask, type TaskCommand } from "../domain/task/decide.ts";
import { taskStream, type AgentCli, type DiffStat, type FailureReason, type Isolation, type TaskState, type Tier, type Usage } from "../domain/task/task.ts";
import { parseResultSections } from "../domain/task/result.ts";
import type { CheckRecord } from "../domain/task/checks.ts";
import { reviewFlags, type ChangedPath } from "../domain/task/flags.ts";
import { buildDispatchPrompt } from "../prompt/build.ts";
import { loadPromptInput } from "../prompt/load.ts";
import { missingSkills } from "../prompt/skills.ts";
import { RUNNER_ID_PATTERN, RUNNER_ID_RULE } from "../domain/runner/tokens.ts";
import { ConflictError, IllegalStateError, ValidationError } from "../shared/errors.ts";
import type { InStatement } from "@libsql/client";
import type { EventMeta, StreamAppend } from "../store/event-store.ts";
import type { AppContext } from "./context.ts";
import { metaOf } from "./execute.ts";
import { mintRunToken } from "./run-tokens.ts";
import { runTaskCommand, taskFrom } from "./tasks.ts";

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

/** How often a runner that claims nothing still has its presence written (it counts for RUNNER_FRESH_MS). */
export const PRESENCE_REFRESH_MS = 10_000;
const CLAIM_RETRIES = 5;

interface Presence {
  statement: InStatement;
  /** When its row was last written, by this process (ms since the epoch); 0 for never. */
  writtenAt: number;
  seenAt: number;
}

/** Per process: the runners that claimed through it, and when their presence was last written. */
const presences = new WeakMap<AppContext, Map<string, Presence>>();
/** Per process and claim filter: the log's head at the last claim that found nothing. */
const emptyAt = new WeakMap<AppContext, Map<string, number>>();

function presenceOf(ctx: AppContext): Map<string, Presence> {
  let map = presences.get(ctx);
  if (!map) presences.set(ctx, (map = new Map()));
  return map;
}

/**
 * The presence rows of runners that claimed through this process and are due a refresh: a watcher
 * of the store (`cos serve`) sends them with its next read of the log's head, so an idle runner costs
 * no request of its own. `all`: every present runner's, due or not (the store is back from an outage
 * that may have outlasted them).
 */
export function presenceStatements(ctx: AppContext, now: Date, { all = false }: { all?: boolean } = {}): InStatement[] {
  const due: InStatement[] = [];
  for (const presence of presenceOf(ctx).values()) {
    if (now.getTime() - presence.seenAt > RUNNER_FRESH_MS) continue;
    if (!all && now.getTime() - presence.writtenAt < PRESENCE_REFRESH_MS) continue;
    presence.writtenAt = now.getTime();
    due.push(presence.statement);
  }
  return due;
}

/**
 * Writes every fresh runner's presence now, due or not, for the next pass to count its slots: after the store
 * was away, or when a runner's slots changed. A store still away is not an error here (the watch says so).
 */
export async function writePresence(ctx: AppContext): Promise<void> {
  const presence = presenceStatements(ctx, ctx.clock(), { all: true });
  if (presence.length) await ctx.db.batch(presence).catch(() => undefined);
}

/**
 * Claims up to `slots` dispatched tasks, oldest dispatch first, in one batch that starts them, writes
 * their leases and tokens, and fails whole if another runner got one of them first (then the claim
 * reads again). A claim that finds nothing writes nothing: its runner's presence is written with the
 * next claim that does, or by the watcher of `cos serve` (presenceStatements); and while that watcher
 * says the log has not moved since such a claim, the next one does not even read.
 */
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
  const presence: InStatement = {
    sql: "INSERT OR REPLACE INTO runners (id, slots, labels, last_seen) VALUES (?, ?, ?, ?)",
    args: [request.runner, request.totalSlots ?? request.slots, JSON.stringify([...labels]), meta.at],
  };
  const known = presenceOf(ctx).get(request.runner);
  const mine: Presence = { statement: presence, writtenAt: known?.writtenAt ?? 0, seenAt: now.getTime() };
  presenceOf(ctx).set(request.runner, mine);
  // Without a watcher to carry it (`cos tick --wait`, tests), a due presence is written here.
  const touch = async () => {
    if (ctx.store.watchedHead !== null || now.getTime() - mine.writtenAt < PRESENCE_REFRESH_MS) return;
    mine.writtenAt = now.getTime();
    await ctx.db.batch([presence]);
  };
  if (!eligible.length || request.slots === 0) {
    await touch();
    return [];
  }

  const ids = request.taskIds?.length ? request.taskIds : null;
  const filter = JSON.stringify([eligible, ids, request.slots]);
  let empties = emptyAt.get(ctx);
  if (!empties) emptyAt.set(ctx, (empties = new Map()));
  const head = ctx.store.watchedHead;
  // Only events make a task claimable (a dispatch); time only makes leases run out.
  if (head !== null && empties.get(filter) === head) return [];

  for (let attempt = 0; ; attempt++) {
    const candidates = await ctx.db.query<{ id: number }>(
      `SELECT id FROM tasks WHERE status = 'dispatched' AND (lease_until IS NULL OR lease_until > ?)
       AND agent IN (${eligible.map(() => "?").join(",")})
       ${ids ? `AND id IN (${ids.map(() => "?").join(",")})` : ""}
       ORDER BY dispatched_at, id LIMIT ?`,
      [meta.at, ...eligible, ...(ids ?? []), request.slots],
    );
    if (!candidates.length) {
      if (head !== null) empties.set(filter, head);
      await touch();
      return [];
    }
    empties.delete(filter);
    // The tasks and their prompts' inputs, in one snapshot.
    const reads = ctx.db.pipeline();
    const streams = await Promise.all(candidates.map((c) => reads.execute(ctx.store.streamStatement(taskStream(Number(c.id))))));
    const tasks = candidates.map((c, i) => taskFrom(Number(c.id), ctx.store.loaded<TaskState>(taskStream(Number(c.id)), streams[i]!)));
    // A skill that vanished since dispatch: leave the task unclaimed; the claim timeout queues it again,
    // without spending an attempt, and the resolver holds it with a note until the skill is back.
    const ready = tasks.filter(({ state }) => state.status === "dispatched" && !missingSkills(ctx.config, state).length);
    const inputs = await Promise.all(ready.map(({ state }) => loadPromptInput(reads, ctx.config, state, now)));
    const appends: StreamAppend[] = [];
    const statements: InStatement[] = [presence];
    const claimed: ClaimedRun[] = [];
    ready.forEach(({ state, version }, i) => {
      const prompt = buildDispatchPrompt(inputs[i]!, ctx.config.prompt.budgetTokens);
      const events = decideTask(
        { type: "StartTask", data: { attempt: state.attempt, runner: request.runner, leaseUntil, promptHash: prompt.hash } },
        state,
        meta,
      );
      appends.push({ stream: taskStream(state.id), expectedVersion: version, events });
      statements.push({
        sql: "INSERT OR REPLACE INTO leases (task_id, attempt, runner, lease_until) VALUES (?, ?, ?, ?)",
        args: [state.id, state.attempt, request.runner, leaseUntil],
      });
      const token = mintRunToken({ taskId: state.id, attempt: state.attempt, project: state.project }, meta.at);
      statements.push(token.statement);
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
        mcpToken: token.token,
        try: Math.max(1, state.runs.filter((r) => r.attempt === state.attempt).length),
      });
    });
    if (!claimed.length) {
      await touch();
      return [];
    }
    try {
      await ctx.store.append(appends, meta, [], { statements });
      mine.writtenAt = now.getTime();
      return claimed;
    } catch (error) {
      // Another runner started one of them first: read again and claim what is left.
      if (!(error instanceof ConflictError) || attempt >= CLAIM_RETRIES) throw error;
    }
  }
}

/**
 * Renews the lease of a running attempt. Heartbeats stay out of the log (DESIGN §2): they write the
 * `leases` table only, in one statement that renews only a live lease of a running attempt. A
 * heartbeat for an attempt that is no longer running is refused, which tells the runner to stop the agent.
 */
export async function heartbeat(ctx: AppContext, taskId: number, attempt: number, runner: string): Promise<{ leaseUntil: string }> {
  const now = ctx.clock();
  const leaseUntil = new Date(now.getTime() + ctx.config.resolver.leaseSeconds * 1000).toISOString();
  const [renewed] = await ctx.db.batch([
    {
      sql: `UPDATE leases SET lease_until = ? WHERE task_id = ? AND attempt = ? AND runner = ? AND lease_until > ?
            AND EXISTS (SELECT 1 FROM tasks WHERE id = ? AND status = 'running' AND attempt = ? AND runner = ?)`,
      args: [leaseUntil, taskId, attempt, runner, now.toISOString(), taskId, attempt, runner],
    },
  ]);
  if (renewed!.rowsAffected === 1) return { leaseUntil };
  const row = (await ctx.db.query<{ status: string; attempt: number }>("SELECT status, attempt FROM tasks WHERE id = ?", [taskId]))[0];
  throw new IllegalStateError(
    row
      ? `task #${taskId} attempt ${attempt} on ${runner}: lease lost (the task is ${row.status}, attempt ${row.attempt}); stop the run`
      : `task #${taskId} does not exist; stop the run`,
  );
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
