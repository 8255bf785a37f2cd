import type { AppContext } from "../src/app/context.ts";
import { freeRunnerSlots } from "../src/app/runs.ts";
import { approve, worktreeProject } from "../src/app/review.ts";
import { loadTask, taskFrom } from "../src/app/tasks.ts";
import { decideTask, type TaskCommand } from "../src/domain/task/decide.ts";
import { SETTINGS_STREAM } from "../src/domain/settings/settings.ts";
import { taskStream, type Isolation, type TaskState, type Tier } from "../src/domain/task/task.ts";
import { checksFailed } from "../src/domain/task/checks.ts";
import { buildDispatchPrompt } from "../src/prompt/build.ts";
import { loadPromptInput } from "../src/prompt/load.ts";
import { ConflictError, IllegalStateError } from "../src/shared/errors.ts";
import type { EventMeta, Guard, StreamAppend } from "../src/store/event-store.ts";
import { unchanged } from "../src/store/guards.ts";
import { loadPlanInput } from "../src/plan/load.ts";
import type { PlanTask } from "../src/plan/input.ts";
import { plan, type PlanDecision } from "../src/plan/plan.ts";

export interface PassReport {
  at: string;
  dispatched: { taskId: number; attempt: number; tier: Tier; isolation: Isolation; note: string | null }[];
  autoApproved: { taskId: number; tier: Tier; spotCheck: boolean }[];
  expired: { taskId: number; attempt: number; claimed: boolean }[];
  holds: Extract<PlanDecision, { kind: "hold" }>[];
  /** Work was left for the next pass (more auto-approvals or expired leases than one pass writes). */
  more: boolean;
}

export interface PassOptions {
  /**
   * "count": free slots of the runners seen lately (`cos serve`); null: no limit, dispatched tasks
   * wait for a runner to claim them (`cos tick`); a number: exactly that many.
   */
  runnerSlots?: number | null | "count";
  /** False: leave expired leases alone this pass (right after the store came back, runners get to renew them first). */
  expireLeases?: boolean;
}

/** Auto-approvals, lease expiries and notes one pass writes at most; the rest go to the next pass. */
export const MAX_UPKEEP_PER_PASS = 50;
const PASS_RETRIES = 10;

/**
 * The set of active tasks, as SQLite spells it: every rule that limits a dispatch (capacity, one task
 * per agent and per area, cooldowns, the budget) reads only these, and every change to them (a
 * dispatch, a start, a result, an expiry) changes this text.
 */
const ACTIVE_SET = `SELECT COALESCE(group_concat(id || ':' || status || ':' || agent || ':' || COALESCE(area, ''), ','), '')
  FROM (SELECT id, status, agent, area FROM tasks WHERE status IN ('dispatched', 'running') ORDER BY id)`;
const SETTINGS_VERSION = `SELECT COUNT(*) FROM events WHERE stream = '${SETTINGS_STREAM}'`;

/**
 * One resolver pass: the plan's reads in one snapshot, then the tasks it acts on (and their prompts'
 * inputs) in a second, then ONE write batch that carries the plan's premises as guards: the active
 * set it planned against, the settings' version, and each task's version. Two passes on two machines
 * cannot both succeed on a stale view: the second one's batch fails whole and it plans again, so a
 * ready task is dispatched once, never more than `maxConcurrent` are active, and one task per agent
 * and per area. Each pass's write is bounded (≤ maxConcurrent dispatches, ≤ 50 other writes), so no
 * write transaction is ever long. Holds are returned, never appended.
 */
export async function runPass(ctx: AppContext, options: PassOptions = {}): Promise<PassReport> {
  for (let attempt = 0; ; attempt++) {
    const merges: AutoMerge[] = [];
    let report: PassReport;
    try {
      report = await passOnce(ctx, options, merges);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= PASS_RETRIES) throw error;
      await new Promise((done) => setTimeout(done, Math.random() * 5 * (attempt + 1)));
      continue;
    }
    // Approvals that merge a branch run after the pass's write: git is no work to hold the store for.
    for (const merge of merges) {
      if (await autoApproveWithMerge(ctx, merge)) report.autoApproved.push({ taskId: merge.taskId, tier: merge.tier, spotCheck: merge.spotCheck });
    }
    return report;
  }
}

interface AutoMerge {
  taskId: number;
  attempt: number;
  tier: Tier;
  spotCheck: boolean;
}

/**
 * An approval by the tier's timer of a task that ran in a worktree: its branch is merged like a person's approval
 * (src/app/review.ts), crash-safe the same way. After a merge conflict the timer waits for a person: no second
 * try until the task has a new result.
 */
async function autoApproveWithMerge(ctx: AppContext, auto: AutoMerge): Promise<boolean> {
  const events = await ctx.store.readStream(taskStream(auto.taskId));
  const lastResult = events.map((e) => e.type).lastIndexOf("TaskResultReported");
  if (events.slice(lastResult + 1).some((e) => e.type === "MergeConflicted")) return false;
  const { state } = await loadTask(ctx, auto.taskId);
  const project = worktreeProject(ctx, state);
  // The plan never approves a result that failed its checks; the merge comes before the record, so ask again here.
  if (!project || state.status !== "review" || state.attempt !== auto.attempt || checksFailed(state.result)) return false;
  try {
    await approve(ctx, state, project, "resolver", { kind: "auto", attempt: auto.attempt, tier: auto.tier, spotCheck: auto.spotCheck });
    return true;
  } catch (error) {
    if (error instanceof IllegalStateError || error instanceof ConflictError) return false;
    throw error;
  }
}

/**
 * Passes until one leaves nothing over, as one report (`cos tick`, a scheduler's tick): each pass's
 * write stays bounded however much fell due at once.
 */
export async function runPasses(ctx: AppContext, options: PassOptions = {}): Promise<PassReport> {
  const report = await runPass(ctx, options);
  while (report.more) {
    const next = await runPass(ctx, options);
    report.dispatched.push(...next.dispatched);
    report.autoApproved.push(...next.autoApproved);
    report.expired.push(...next.expired);
    report.holds = next.holds;
    report.more = next.more;
  }
  return report;
}

type Act =
  | { decision: Extract<PlanDecision, { kind: "dispatch" }>; task: PlanTask }
  | { decision: Extract<PlanDecision, { kind: "auto_approve" | "lease_expired" }>; task: PlanTask }
  | { decision: Extract<PlanDecision, { kind: "hold" }> & { code: "missing_skill" }; task: PlanTask };

async function passOnce(ctx: AppContext, options: PassOptions, merges: AutoMerge[]): Promise<PassReport> {
  const now = ctx.clock();
  const meta: EventMeta = { at: now.toISOString(), actor: "resolver" };

  const planReads = ctx.db.pipeline();
  const [slots, input, activeSet, settingsVersion] = await Promise.all([
    options.runnerSlots === "count" ? freeRunnerSlots(planReads, now) : Promise.resolve(options.runnerSlots ?? null),
    loadPlanInput(planReads, ctx.config, now, null, { oneRequest: !ctx.db.embedded }),
    planReads.execute(ACTIVE_SET),
    planReads.execute(SETTINGS_VERSION),
  ]);
  const decisions = plan({ ...input, runnerSlots: slots });
  const report: PassReport = { at: meta.at, dispatched: [], autoApproved: [], expired: [], holds: [], more: false };

  const byId = new Map(input.tasks.map((t) => [t.id, t]));
  const acts: Act[] = [];
  let upkeep = 0;
  for (const decision of decisions) {
    const task = byId.get(decision.taskId)!;
    if (decision.kind === "hold") {
      report.holds.push(decision);
      // Holds are not appended (DESIGN §4), but a person must hear of a missing skill: one note, not one per pass.
      if (decision.code === "missing_skill") {
        if (upkeep < MAX_UPKEEP_PER_PASS) {
          upkeep++;
          acts.push({ decision: decision as Act["decision"] & { code: "missing_skill" }, task } as Act);
        } else report.more = true;
      }
      continue;
    }
    if (decision.kind === "dispatch") {
      acts.push({ decision, task });
      continue;
    }
    if (decision.kind === "lease_expired" && options.expireLeases === false) continue;
    if (upkeep >= MAX_UPKEEP_PER_PASS) {
      report.more = true;
      continue;
    }
    upkeep++;
    acts.push({ decision, task });
  }
  if (!acts.length) return report;

  // The tasks acted on, and the prompts' inputs of those dispatched, in one snapshot.
  const actReads = ctx.db.pipeline();
  const streams = await Promise.all(acts.map((a) => actReads.execute(ctx.store.streamStatement(taskStream(a.task.id)))));
  const loaded = acts.map((a, i) => taskFrom(a.task.id, ctx.store.loaded<TaskState>(taskStream(a.task.id), streams[i]!)));
  for (const [i, act] of acts.entries()) {
    // Between the two reads another process may have changed a task the plan acts on: plan again.
    if (!asPlanned(act, loaded[i]!.state)) throw new ConflictError(`task #${act.task.id} changed while the pass planned`);
  }
  const prompts = await Promise.all(
    acts.map((act, i) => (act.decision.kind === "dispatch" ? loadPromptInput(actReads, ctx.config, loaded[i]!.state, now) : null)),
  );

  const appends: StreamAppend[] = [];
  acts.forEach((act, i) => {
    const { state, version } = loaded[i]!;
    const d = act.decision;
    const events = [];
    switch (d.kind) {
      case "hold":
        if (state.activity.at(-1)?.text === d.note) return;
        events.push(...decideTask({ type: "NoteActivity", data: { text: d.note } }, state, meta));
        break;
      case "lease_expired": {
        const detail = d.claimed
          ? "lease lost: the runner stopped sending heartbeats"
          : `no runner claimed it within ${ctx.config.resolver.claimTimeoutMinutes} min`;
        events.push(...decide(state, meta, {
          type: "ReportFailure",
          data: { attempt: d.attempt, reason: d.claimed ? "lease_lost" : "claim_timeout", detail, maxAttempts: ctx.config.resolver.maxAttempts, retryAt: null },
        }));
        report.expired.push({ taskId: d.taskId, attempt: d.attempt, claimed: d.claimed });
        break;
      }
      case "auto_approve":
        // A task that ran in a worktree is approved by merging its branch, after this write.
        if (worktreeProject(ctx, state)) {
          merges.push({ taskId: d.taskId, attempt: d.attempt, tier: d.tier, spotCheck: d.spotCheck });
          return;
        }
        events.push(...decide(state, meta, { type: "AutoApprove", data: { attempt: d.attempt, tier: d.tier, spotCheck: d.spotCheck } }));
        report.autoApproved.push({ taskId: d.taskId, tier: d.tier, spotCheck: d.spotCheck });
        break;
      case "dispatch": {
        const prompt = buildDispatchPrompt(prompts[i]!, ctx.config.prompt.budgetTokens);
        const leaseUntil = new Date(now.getTime() + ctx.config.resolver.claimTimeoutMinutes * 60_000).toISOString();
        events.push(...decide(state, meta, {
          type: "DispatchTask",
          data: { runner: null, leaseUntil, tier: d.tier, isolation: d.isolation, promptHash: prompt.hash },
        }));
        if (d.note) events.push(...decideTask({ type: "NoteActivity", data: { text: d.note } }, state, meta));
        report.dispatched.push({ taskId: d.taskId, attempt: d.attempt, tier: d.tier, isolation: d.isolation, note: d.note });
        break;
      }
    }
    appends.push({ stream: taskStream(state.id), expectedVersion: version, events });
  });

  if (!appends.length) return report;
  const guards: Guard[] = [unchanged("the active tasks", ACTIVE_SET, [], String(activeSet.rows[0]?.[0] ?? ""))];
  for (const act of acts) {
    // An expired lease stays expired only while no heartbeat renewed it (one from a runner whose clock is behind).
    if (act.decision.kind === "lease_expired") {
      guards.push({
        what: `the lease of task #${act.task.id}`,
        sql: "NOT EXISTS (SELECT 1 FROM leases WHERE task_id = ? AND attempt = ? AND lease_until > ?)",
        args: [act.task.id, act.decision.attempt, meta.at],
      });
    }
  }
  await ctx.store.append(appends, meta, [{ stream: SETTINGS_STREAM, version: Number(settingsVersion.rows[0]?.[0] ?? 0) }], { guards });
  return report;
}

function decide(state: TaskState, meta: EventMeta, command: TaskCommand) {
  return decideTask(command, state, meta);
}

/** The task is still as the plan saw it in every field its decision rests on. */
function asPlanned(act: Act, state: TaskState): boolean {
  const seen = act.task;
  if (state.status !== seen.status || state.attempt !== seen.attempt) return false;
  switch (act.decision.kind) {
    case "dispatch":
      return (
        state.agent === seen.agent &&
        state.area === seen.area &&
        state.type === seen.type &&
        state.goalId === seen.goalId &&
        state.tierPin === seen.tierPin &&
        state.isolation === seen.isolation &&
        state.notBefore === seen.notBefore &&
        state.blockedBy.join(",") === seen.blockedBy.join(",")
      );
    case "auto_approve":
      return state.dispatchTier === seen.dispatchTier && state.finishedAt === seen.finishedAt;
    default:
      return true;
  }
}
