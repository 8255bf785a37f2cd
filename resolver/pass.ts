import type { AppContext } from "../src/app/context.ts";
import { freeRunnerSlots } from "../src/app/runs.ts";
import { approve, worktreeProject } from "../src/app/review.ts";
import { loadTask, loadTaskIn } from "../src/app/tasks.ts";
import { ConflictError, IllegalStateError } from "../src/shared/errors.ts";
import { decideTask, type TaskCommand } from "../src/domain/task/decide.ts";
import { taskStream, type Isolation, type Tier } from "../src/domain/task/task.ts";
import { checksFailed } from "../src/domain/task/checks.ts";
import { buildDispatchPrompt } from "../src/prompt/build.ts";
import { loadPromptInput } from "../src/prompt/load.ts";
import type { Tx } from "../src/store/db.ts";
import type { EventMeta } from "../src/store/event-store.ts";
import { loadPlanInput } from "../src/plan/load.ts";
import { plan, type PlanDecision } from "../src/plan/plan.ts";

export interface PassReport {
  at: string;
  dispatched: { taskId: number; attempt: number; tier: Tier; isolation: Isolation; note: string | null }[];
  autoApproved: { taskId: number; tier: Tier; spotCheck: boolean }[];
  expired: { taskId: number; attempt: number; claimed: boolean }[];
  holds: Extract<PlanDecision, { kind: "hold" }>[];
}

export interface PassOptions {
  /**
   * "count": free slots of the runners seen lately (`cos serve`); null: no limit, dispatched tasks
   * wait for a runner to claim them (`cos tick`); a number: exactly that many.
   */
  runnerSlots?: number | null | "count";
}

/**
 * One resolver pass: plan and apply in a single write transaction, so two passes in two processes
 * serialise and a ready task is dispatched exactly once. Holds are returned, never appended.
 */
export async function runPass(ctx: AppContext, options: PassOptions = {}): Promise<PassReport> {
  const merges: AutoMerge[] = [];
  const report = await planAndApply(ctx, options, merges);
  // Approvals that merge a branch run after the pass's transaction: git is no work to hold the store's lock for.
  for (const merge of merges) {
    if (await autoApproveWithMerge(ctx, merge)) report.autoApproved.push({ taskId: merge.taskId, tier: merge.tier, spotCheck: merge.spotCheck });
  }
  return report;
}

interface AutoMerge {
  taskId: number;
  attempt: number;
  tier: Tier;
  spotCheck: boolean;
}

async function planAndApply(ctx: AppContext, options: PassOptions, merges: AutoMerge[]): Promise<PassReport> {
  const now = ctx.clock();
  const meta: EventMeta = { at: now.toISOString(), actor: "resolver" };
  return ctx.store.transaction(async (tx) => {
    const slots = options.runnerSlots === "count" ? await freeRunnerSlots(tx, now) : (options.runnerSlots ?? null);
    const input = await loadPlanInput(tx, ctx.config, now, slots);
    const decisions = plan(input);
    const report: PassReport = { at: meta.at, dispatched: [], autoApproved: [], expired: [], holds: [] };
    for (const decision of decisions) {
      switch (decision.kind) {
        case "hold":
          report.holds.push(decision);
          if (decision.code === "missing_skill") await noteOnce(ctx, tx, decision.taskId, meta, decision.note);
          break;
        case "lease_expired": {
          const detail = decision.claimed
            ? "lease lost: the runner stopped sending heartbeats"
            : `no runner claimed it within ${ctx.config.resolver.claimTimeoutMinutes} min`;
          await applyTask(ctx, tx, decision.taskId, meta, {
            type: "ReportFailure",
            data: {
              attempt: decision.attempt,
              reason: decision.claimed ? "lease_lost" : "claim_timeout",
              detail,
              maxAttempts: ctx.config.resolver.maxAttempts,
              retryAt: null,
            },
          });
          report.expired.push({ taskId: decision.taskId, attempt: decision.attempt, claimed: decision.claimed });
          break;
        }
        case "auto_approve": {
          const auto = { taskId: decision.taskId, attempt: decision.attempt, tier: decision.tier, spotCheck: decision.spotCheck };
          if (worktreeProject(ctx, (await loadTaskIn(tx, decision.taskId)).state)) {
            merges.push(auto);
            break;
          }
          await applyTask(ctx, tx, decision.taskId, meta, {
            type: "AutoApprove",
            data: { attempt: decision.attempt, tier: decision.tier, spotCheck: decision.spotCheck },
          });
          report.autoApproved.push({ taskId: auto.taskId, tier: auto.tier, spotCheck: auto.spotCheck });
          break;
        }
        case "dispatch": {
          const { state } = await loadTaskIn(tx, decision.taskId);
          const prompt = buildDispatchPrompt(await loadPromptInput(tx, ctx.config, state, now), ctx.config.prompt.budgetTokens);
          const leaseUntil = new Date(now.getTime() + ctx.config.resolver.claimTimeoutMinutes * 60_000).toISOString();
          await applyTask(ctx, tx, decision.taskId, meta, {
            type: "DispatchTask",
            data: { runner: null, leaseUntil, tier: decision.tier, isolation: decision.isolation, promptHash: prompt.hash },
          }, decision.note);
          report.dispatched.push({
            taskId: decision.taskId,
            attempt: decision.attempt,
            tier: decision.tier,
            isolation: decision.isolation,
            note: decision.note,
          });
          break;
        }
        default: {
          const never: never = decision;
          throw new Error(`unhandled decision ${JSON.stringify(never)}`);
        }
      }
    }
    return report;
  });
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

async function applyTask(ctx: AppContext, tx: Tx, id: number, meta: EventMeta, command: TaskCommand, note: string | null = null) {
  const { state, version } = await loadTaskIn(tx, id);
  const events = decideTask(command, state, meta);
  if (note) events.push(...decideTask({ type: "NoteActivity", data: { text: note } }, state, meta));
  await ctx.store.appendIn(tx, [{ stream: taskStream(id), expectedVersion: version, events }], meta);
}

/** Holds are not appended (DESIGN §4), but a person must hear of a missing skill: one note, not one per pass. */
async function noteOnce(ctx: AppContext, tx: Tx, id: number, meta: EventMeta, text: string) {
  const { state } = await loadTaskIn(tx, id);
  if (state.activity.at(-1)?.text === text) return;
  await applyTask(ctx, tx, id, meta, { type: "NoteActivity", data: { text } });
}
