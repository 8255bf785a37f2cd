import type { Mode } from "../src/domain/settings/settings.ts";
import type { Isolation, TaskStatus, Tier } from "../src/domain/task/task.ts";
import { trustNote, trustStanding } from "../src/domain/trust/trust.ts";
import type { Verdict } from "../src/domain/task/task.ts";

// DESIGN §4 and §5 as one pure function: (state, now) → decisions. No I/O, no clock.

export interface PlanTask {
  id: number;
  status: TaskStatus;
  agent: string;
  type: string;
  area: string | null;
  goalId: number | null;
  priority: number;
  createdAt: string;
  blockedBy: number[];
  attempt: number;
  tierPin: Tier | null;
  isolation: Isolation | null;
  /** The tier fixed at dispatch (review timers use it). */
  tier: Tier | null;
  notBefore: string | null;
  leaseUntil: string | null;
  finishedAt: string | null;
  /** Skills the task or its agent names that have no SKILL.md, with the note that says so (read by the loader). */
  missingSkills?: { names: string[]; note: string } | null;
}

export interface PlanLimits {
  maxConcurrent: number;
  cooldownMinutes: Record<Mode, number>;
  autoApproveHours: { auto: number; quick: number };
  typeDefaults: Record<string, Tier>;
  agentIsolation: Record<string, Isolation | undefined>;
  budget: { maxDispatches?: number | undefined; maxCostUsd?: number | undefined } | null;
}

export interface PlanInput {
  now: Date;
  /** Every open task: queued, dispatched, running, review. */
  tasks: PlanTask[];
  /** The status of every task named as a blocker. */
  statusOf: ReadonlyMap<number, TaskStatus>;
  /** Per agent and goal (`agent\u0000goal`), the latest finished task within the longest cooldown. */
  lastFinished: ReadonlyMap<string, { taskId: number; at: string }>;
  mode: Mode;
  paused: boolean;
  limits: PlanLimits;
  budgetSpent: { dispatches: number; costUsd: number };
  /** Free runner slots; null when no runner information limits the pass (`cos tick`). */
  runnerSlots: number | null;
  /** Per agent and type (`agent\u0000type`): the pin, and the human verdicts newest first. */
  trust: ReadonlyMap<string, { pin: Tier | null; verdicts: Verdict[] }>;
}

export type Hold =
  | { code: "usage_limit"; until: string }
  | { code: "blocked"; waitingFor: { id: number; status: TaskStatus }[] }
  | { code: "blocker_ended"; ended: { id: number; status: TaskStatus }[] }
  | { code: "missing_skill"; skills: string[]; note: string }
  | { code: "agent_busy"; agent: string; busyWith: number }
  | { code: "area"; area: string; heldBy: number }
  | { code: "cooldown"; agent: string; finishedTask: number; finishedAt: string; mode: Mode; until: string }
  | { code: "capacity"; used: number; max: number }
  | { code: "no_runner" }
  | { code: "paused" }
  | { code: "budget"; detail: string };

export type Decision =
  | { kind: "dispatch"; taskId: number; attempt: number; tier: Tier; isolation: Isolation; note: string | null }
  | ({ kind: "hold"; taskId: number } & Hold)
  | { kind: "auto_approve"; taskId: number; attempt: number; tier: Tier; spotCheck: boolean }
  | { kind: "lease_expired"; taskId: number; attempt: number; claimed: boolean };

const ACTIVE: readonly TaskStatus[] = ["dispatched", "running"];
const ENDED_BADLY: readonly TaskStatus[] = ["discarded", "cancelled", "failed"];
const HOUR = 3600_000;
const MINUTE = 60_000;

export function key(a: string, b: string | number): string {
  return `${a}\u0000${b}`;
}

export function plan(input: PlanInput): Decision[] {
  const now = input.now.getTime();
  const decisions: Decision[] = [];
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
    const tier = task.tier ?? "gate";
    if (tier === "gate") continue;
    const due = Date.parse(task.finishedAt) + input.limits.autoApproveHours[tier] * HOUR;
    if (due <= now) {
      decisions.push({ kind: "auto_approve", taskId: task.id, attempt: task.attempt, tier, spotCheck: tier === "quick" });
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
      (h as Decision & { kind: "hold" }).kind = "hold";
      (h as Decision & { kind: "hold" }).taskId = task.id;
      decisions.push(h as Decision);
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
      const ended = blockers.filter((b) => ENDED_BADLY.includes(b.status));
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

export function defaultTierOf(type: string, defaults: Record<string, Tier>): Tier {
  return defaults[type] ?? "gate";
}

/** DESIGN §5: the task's pin, else the (agent, type) pin, else trust; a trust move gets its note. */
export function tierAtDispatch(task: PlanTask, input: Pick<PlanInput, "trust" | "limits">): { tier: Tier; note: string | null } {
  if (task.tierPin) return { tier: task.tierPin, note: null };
  const entry = input.trust.get(key(task.agent, task.type));
  if (entry?.pin) return { tier: entry.pin, note: null };
  const defaultTier = defaultTierOf(task.type, input.limits.typeDefaults);
  const standing = trustStanding(entry?.verdicts ?? [], defaultTier);
  if (standing.effective === defaultTier) return { tier: defaultTier, note: null };
  return { tier: standing.effective, note: trustNote(defaultTier, standing.effective, standing) };
}

/** DESIGN §4: the task's own, else worktree for code, else the agent's default, else direct. */
export function isolationOf(task: Pick<PlanTask, "isolation" | "type" | "agent">, limits: Pick<PlanLimits, "agentIsolation">): Isolation {
  return task.isolation ?? (task.type === "code" ? "worktree" : (limits.agentIsolation[task.agent] ?? "direct"));
}
