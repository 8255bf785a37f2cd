import { autoApprovalDue, reviewTier, spotCheckOf } from "../domain/task/auto-approval.ts";
import { blockersEndedBadly } from "../domain/task/dependencies.ts";
import type { Isolation, TaskStatus, Tier } from "../domain/task/task.ts";
import { isolationOf, tierAtDispatch } from "./dispatch.ts";
import type { Hold } from "./holds.ts";
import { key, type PlanInput } from "./input.ts";

// DESIGN §4 and §5 as one pure function: (state, now) → decisions. No I/O, no clock.

/** What one pass does; holds are returned, never appended (DESIGN §4). */
export type PlanDecision =
  | { kind: "dispatch"; taskId: number; attempt: number; tier: Tier; isolation: Isolation; note: string | null }
  | ({ kind: "hold"; taskId: number } & Hold)
  | { kind: "auto_approve"; taskId: number; attempt: number; tier: Tier; spotCheck: boolean }
  | { kind: "lease_expired"; taskId: number; attempt: number; claimed: boolean };

const ACTIVE: readonly TaskStatus[] = ["dispatched", "running"];
const MINUTE = 60_000;

export function plan(input: PlanInput): PlanDecision[] {
  const now = input.now.getTime();
  const decisions: PlanDecision[] = [];
  const busyAgents = new Map<string, number>();
  const heldAreas = new Map<string, number>();
  let active = 0;

  for (const task of input.tasks) {
    if (!ACTIVE.includes(task.status)) continue;
    if (task.leaseUntil !== null && Date.parse(task.leaseUntil) <= now) {
      decisions.push({ kind: "lease_expired", taskId: task.id, attempt: task.attempt, claimed: task.status === "running" });
      continue;
    }
    active++;
    if (!busyAgents.has(task.agent)) busyAgents.set(task.agent, task.id);
    if (task.area && !heldAreas.has(task.area)) heldAreas.set(task.area, task.id);
  }

  for (const task of input.tasks) {
    if (task.status !== "review" || task.finishedAt === null) continue;
    const tier = reviewTier(task.dispatchTier);
    const due = autoApprovalDue({ tier, resultAt: task.finishedAt, checksFailed: task.checksFailed === true }, input.limits.autoApproveHours);
    if (due !== null && due <= now) {
      decisions.push({ kind: "auto_approve", taskId: task.id, attempt: task.attempt, tier, spotCheck: spotCheckOf(tier) });
    }
  }

  const queued = input.tasks
    .filter((t) => t.status === "queued")
    // ISO-8601 UTC strings order as text; `<` is many times cheaper than localeCompare on 10,000 tasks.
    .sort((a, b) => b.priority - a.priority || (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0) || a.id - b.id);
  let slots = input.runnerSlots;
  let dispatches = input.budgetSpent.dispatches;
  const budget = input.limits.budget;

  for (const task of queued) {
    const hold = (h: Hold) => {
      (h as PlanDecision & { kind: "hold" }).kind = "hold";
      (h as PlanDecision & { kind: "hold" }).taskId = task.id;
      decisions.push(h as PlanDecision);
    };
    if (task.notBefore !== null && Date.parse(task.notBefore) > now) {
      hold({ code: "usage_limit", until: task.notBefore });
      continue;
    }
    // Most queued tasks wait on a blocker: find that out without building anything first.
    let allApproved = true;
    for (const id of task.blockedBy) if (input.statusOf.get(id) !== "approved") allApproved = false;
    if (!allApproved) {
      const blockers = task.blockedBy.map((id) => ({ id, status: input.statusOf.get(id) ?? ("cancelled" as TaskStatus) }));
      const ended = blockersEndedBadly(blockers);
      if (ended.length) {
        hold({ code: "blocker_ended", ended });
        continue;
      }
      const waiting = blockers.filter((b) => b.status !== "approved");
      if (waiting.length) {
        hold({ code: "blocked", waitingFor: waiting });
        continue;
      }
    }
    // Never a prompt without a skill it was promised: held until the SKILL.md exists.
    if (task.missingSkills?.names.length) {
      hold({ code: "missing_skill", skills: task.missingSkills.names, note: task.missingSkills.note });
      continue;
    }
    const busyWith = busyAgents.get(task.agent);
    if (busyWith !== undefined) {
      hold({ code: "agent_busy", agent: task.agent, busyWith });
      continue;
    }
    const heldBy = task.area ? heldAreas.get(task.area) : undefined;
    if (task.area && heldBy !== undefined) {
      hold({ code: "area", area: task.area, heldBy });
      continue;
    }
    if (task.goalId !== null) {
      const last = input.lastFinished.get(key(task.agent, task.goalId));
      const until = last ? Date.parse(last.at) + input.limits.cooldownMinutes[input.mode] * MINUTE : 0;
      if (last && until > now) {
        hold({
          code: "cooldown",
          agent: task.agent,
          finishedTask: last.taskId,
          finishedAt: last.at,
          mode: input.mode,
          until: new Date(until).toISOString(),
        });
        continue;
      }
    }
    if (active >= input.limits.maxConcurrent) {
      hold({ code: "capacity", used: active, max: input.limits.maxConcurrent });
      continue;
    }
    if (slots !== null && slots <= 0) {
      hold({ code: "no_runner" });
      continue;
    }
    if (input.paused) {
      hold({ code: "paused" });
      continue;
    }
    if (budget?.maxDispatches !== undefined && dispatches >= budget.maxDispatches) {
      hold({ code: "budget", detail: `${dispatches} of ${budget.maxDispatches} dispatches tonight` });
      continue;
    }
    if (budget?.maxCostUsd !== undefined && input.budgetSpent.costUsd >= budget.maxCostUsd) {
      hold({ code: "budget", detail: `$${input.budgetSpent.costUsd.toFixed(2)} of $${budget.maxCostUsd.toFixed(2)} spent tonight` });
      continue;
    }

    const { tier, note } = tierAtDispatch(task, input);
    decisions.push({ kind: "dispatch", taskId: task.id, attempt: task.attempt, tier, isolation: isolationOf(task, input.limits), note });
    active++;
    dispatches++;
    if (slots !== null) slots--;
    busyAgents.set(task.agent, task.id);
    if (task.area) heldAreas.set(task.area, task.id);
  }
  return decisions;
}
