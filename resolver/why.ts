import type { AppContext } from "../src/app/context.ts";
import { loadTask } from "../src/app/tasks.ts";
import type { TaskStatus } from "../src/domain/task/task.ts";
import { plan, type Hold } from "./plan.ts";
import { loadPlanInput } from "./state.ts";

const STATUS_WORDS: Record<TaskStatus, string> = {
  queued: "queued",
  dispatched: "dispatched",
  running: "running",
  review: "in review",
  approved: "approved",
  discarded: "discarded",
  cancelled: "cancelled",
  failed: "failed",
};

export function clockTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(iso));
}

/** A hold in words a person understands (DESIGN §4, `cos why`). */
export function describeHold(hold: Hold, timeZone: string): string {
  switch (hold.code) {
    case "usage_limit":
      return `the agent hit its usage limit; it runs again after ${clockTime(hold.until, timeZone)}`;
    case "blocked":
      return `waiting for ${hold.waitingFor.map((b) => `#${b.id} (${STATUS_WORDS[b.status]})`).join(", ")}`;
    case "blocker_ended":
      return (
        `held: ${hold.ended.map((b) => `#${b.id} was ${STATUS_WORDS[b.status]}`).join(", ")}; ` +
        `cancel this task or change its blockers (cos task edit ID --after …)`
      );
    case "missing_skill":
      return hold.note;
    case "agent_busy":
      return `${hold.agent} is busy with #${hold.busyWith}`;
    case "area":
      return `area "${hold.area}" is held by #${hold.heldBy}`;
    case "cooldown":
      return (
        `cooldown: ${hold.agent} finished #${hold.finishedTask} for this goal at ${clockTime(hold.finishedAt, timeZone)}; ` +
        `${hold.mode} mode waits until ${clockTime(hold.until, timeZone)}`
      );
    case "capacity":
      return `${hold.used} of ${hold.max} slots in use`;
    case "no_runner":
      return "no runner has a free slot";
    case "paused":
      return "the resolver is paused (cos resume)";
    case "budget":
      return `tonight's budget is spent: ${hold.detail}`;
    default: {
      const never: never = hold;
      return String(never);
    }
  }
}

/** Why task `id` is not running now, or what it is doing instead. */
export async function explain(ctx: AppContext, id: number): Promise<{ id: number; status: TaskStatus; code: string; text: string }> {
  const { state } = await loadTask(ctx, id);
  const tz = ctx.config.digest.timezone;
  const at = (iso: string | null) => (iso ? clockTime(iso, tz) : "?");
  const result = (code: string, text: string) => ({ id, status: state.status, code, text: `#${id}: ${text}` });
  switch (state.status) {
    case "dispatched":
      return result("dispatched", `dispatched at ${at(state.dispatchedAt)} (attempt ${state.attempt}); waiting for a runner to claim it until ${at(state.leaseUntil)}`);
    case "running":
      return result("running", `running (attempt ${state.attempt}) on ${state.runner ?? "a runner"}`);
    case "review": {
      const tier = state.tier ?? "gate";
      if (tier === "gate") return result("review", "in review (tier gate): waiting for a person's verdict");
      const hours = ctx.config.review.autoApproveHours[tier];
      const due = new Date(Date.parse(state.finishedAt ?? state.updatedAt) + hours * 3600_000).toISOString();
      return result("review", `in review (tier ${tier}): approved on its own at ${at(due)} unless a person decides first`);
    }
    case "queued": {
      const decisions = plan(await loadPlanInput(ctx.db, ctx.config, ctx.clock(), null));
      const mine = decisions.find((d) => (d.kind === "hold" || d.kind === "dispatch") && d.taskId === id);
      if (mine?.kind === "hold") return result(mine.code, describeHold(mine, tz));
      if (mine?.kind === "dispatch") return result("ready", `ready: the next resolver pass dispatches it (tier ${mine.tier})`);
      return result("queued", "queued");
    }
    default:
      return result(state.status, `${STATUS_WORDS[state.status]}; it will not run again`);
  }
}
