import type { AppContext } from "../app/context.ts";
import { loadTask } from "../app/tasks.ts";
import { autoApprovalDue, keptForFailedChecks, reviewTier } from "../domain/task/auto-approval.ts";
import { checksFailed, failedChecks } from "../domain/task/checks.ts";
import type { TaskStatus } from "../domain/task/task.ts";
import { hintsFor, type Hints } from "../shared/hints.ts";
import { clockTime, describeHold, statusWord } from "./hold-words.ts";
import { loadPlanInput } from "./load.ts";
import { plan } from "./plan.ts";

/** Why task `id` is not running now, or what it is doing instead; ways out are written for where it is read. */
export async function explain(ctx: AppContext, id: number, hints: Hints = hintsFor("cli")): Promise<{ id: number; status: TaskStatus; code: string; text: string }> {
  const { state } = await loadTask(ctx, id);
  const tz = ctx.config.digest.timezone;
  const at = (iso: string | null) => (iso ? clockTime(iso, tz) : "?");
  const result = (code: string, text: string) => ({ id, status: state.status, code, text: `#${id}: ${text}` });
  switch (state.status) {
    case "dispatched": {
      const head = `dispatched at ${at(state.dispatchedAt)} (attempt ${state.attempt})`;
      // Past its claim deadline, the next pass puts it back in the queue: never show that time as still to come.
      if (state.leaseUntil && Date.parse(state.leaseUntil) <= ctx.clock().getTime()) {
        return result(
          "unclaimed",
          `${head}; no runner claimed it by ${at(state.leaseUntil)}, so the next resolver pass puts it back in the queue (no attempt spent)`,
        );
      }
      return result("dispatched", `${head}; waiting for a runner to claim it until ${at(state.leaseUntil)}, else it goes back to the queue`);
    }
    case "running":
      return result("running", `running (attempt ${state.attempt}) on ${state.runner ?? "a runner"}`);
    case "review": {
      const item = { tier: reviewTier(state.dispatchTier), resultAt: state.finishedAt ?? state.updatedAt, checksFailed: checksFailed(state.result) };
      const tier = item.tier;
      const due = autoApprovalDue(item, ctx.config.review.autoApproveHours);
      if (keptForFailedChecks(item)) {
        const names = failedChecks(state.result?.checks).map((c) => c.name).join(", ");
        return result("review", `in review (tier ${tier}): its checks failed (${names}), so it is not approved on its own; waiting for a person's verdict`);
      }
      if (due === null) return result("review", "in review (tier gate): waiting for a person's verdict");
      return result("review", `in review (tier ${tier}): approved on its own at ${at(new Date(due).toISOString())} unless a person decides first`);
    }
    case "queued": {
      const why = (await whyQueued(ctx, hints)).get(id);
      return why ? result(why.code, why.text) : result("queued", "queued");
    }
    default:
      return result(state.status, `${statusWord(state.status)}; it will not run again`);
  }
}

/** Why each queued task waits, or that it is ready: one plan for all of them, in the words of `cos why`. */
export async function whyQueued(ctx: AppContext, hints: Hints = hintsFor("cli")): Promise<Map<number, { code: string; text: string }>> {
  const tz = ctx.config.digest.timezone;
  const reasons = new Map<number, { code: string; text: string }>();
  for (const d of plan(await loadPlanInput(ctx.db, ctx.config, ctx.clock(), null))) {
    if (d.kind === "hold") reasons.set(d.taskId, { code: d.code, text: describeHold(d, tz, hints) });
    else if (d.kind === "dispatch") reasons.set(d.taskId, { code: "ready", text: `ready: the next resolver pass dispatches it (tier ${d.tier})` });
  }
  return reasons;
}
