import type { Config } from "../config/config.ts";
import type { Mode } from "../domain/settings/settings.ts";
import type { Isolation, TaskStatus, Tier, Verdict } from "../domain/task/task.ts";

// What one resolver pass plans from: a snapshot of the open tasks and the few facts the rules of
// DESIGN §4 and §5 look at. Built by `loadPlanInput` from the projections, or by hand in tests.

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
  dispatchTier: Tier | null;
  notBefore: string | null;
  leaseUntil: string | null;
  finishedAt: string | null;
  /** In review: its result failed a check, so it is never approved on its own (read by the loader). */
  checksFailed?: boolean;
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
  /** Per agent and goal (`key(agent, goal)`), the latest finished task within the longest cooldown. */
  lastFinished: ReadonlyMap<string, { taskId: number; at: string }>;
  mode: Mode;
  paused: boolean;
  limits: PlanLimits;
  budgetSpent: { dispatches: number; costUsd: number };
  /** Free runner slots; null when no runner information limits the pass (`cos tick`). */
  runnerSlots: number | null;
  /** Per agent and type (`key(agent, type)`): the pin, and the human verdicts newest first. */
  trust: ReadonlyMap<string, { pin: Tier | null; verdicts: Verdict[] }>;
}

/** The map key of a pair, such as (agent, goal) or (agent, type): NUL cannot occur in either name. */
export function key(a: string, b: string | number): string {
  return `${a}\u0000${b}`;
}

export function limitsOf(config: Config): PlanLimits {
  return {
    maxConcurrent: config.resolver.maxConcurrent,
    cooldownMinutes: config.resolver.cooldownMinutes,
    autoApproveHours: config.review.autoApproveHours,
    typeDefaults: config.review.defaults,
    agentIsolation: Object.fromEntries(Object.entries(config.agents).map(([name, a]) => [name, a.defaultIsolation])),
    budget: config.resolver.budget ?? null,
  };
}
