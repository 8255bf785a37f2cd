// Builders for the resolver's pure plan: a night described in a few lines, then planned once.
import type { Hold } from "../../src/plan/holds.ts";
import { key, type PlanInput, type PlanLimits, type PlanTask } from "../../src/plan/input.ts";
import { plan, type PlanDecision as Decision } from "../../src/plan/plan.ts";
import type { Mode } from "../../src/domain/settings/settings.ts";
import type { TaskStatus, Tier, Verdict } from "../../src/domain/task/task.ts";

export const NIGHT = "2026-11-24";

/** A UTC instant on the night under test: `at("03:30")`, `at("03:39:59.999")`. */
export function at(time: string, day = NIGHT): string {
  const [hh = "00", mm = "00", rest = "00"] = time.split(":");
  const [ss = "00", ms = "000"] = rest.split(".");
  return `${day}T${hh}:${mm}:${ss.padStart(2, "0")}.${ms.padEnd(3, "0")}Z`;
}

/** An ISO instant moved by some minutes (negative: earlier). */
export function plusMinutes(iso: string, minutes: number): string {
  return new Date(Date.parse(iso) + minutes * 60_000).toISOString();
}

export function plusMs(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}

export const NOW = at("03:35");

/** A queued code task for `builder`; created `id` minutes after 20:00 the evening before, so lower ids are older. */
export function task(id: number, overrides: Partial<PlanTask> = {}): PlanTask {
  return {
    id,
    status: "queued",
    agent: "builder",
    type: "code",
    area: null,
    goalId: null,
    priority: 0,
    createdAt: plusMinutes("2026-11-23T20:00:00.000Z", id),
    blockedBy: [],
    attempt: 1,
    tierPin: null,
    isolation: null,
    dispatchTier: null,
    notBefore: null,
    leaseUntil: null,
    finishedAt: null,
    ...overrides,
  };
}

/** A task a runner is working on, with a lease well into the future. */
export function running(id: number, overrides: Partial<PlanTask> = {}): PlanTask {
  return task(id, { status: "running", leaseUntil: plusMinutes(NOW, 30), dispatchTier: "gate", ...overrides });
}

export function dispatchedTask(id: number, overrides: Partial<PlanTask> = {}): PlanTask {
  return task(id, { status: "dispatched", leaseUntil: plusMinutes(NOW, 2), dispatchTier: "gate", ...overrides });
}

export function inReview(id: number, tier: Tier, finishedAt: string, overrides: Partial<PlanTask> = {}): PlanTask {
  return task(id, { status: "review", dispatchTier: tier, finishedAt, ...overrides });
}

export function limits(overrides: Partial<PlanLimits> = {}): PlanLimits {
  return {
    maxConcurrent: 3,
    cooldownMinutes: { sprint: 10, idle: 60 },
    autoApproveHours: { auto: 18, quick: 32 },
    typeDefaults: { code: "gate", research: "auto", content: "quick" },
    agentIsolation: {},
    budget: null,
    ...overrides,
  };
}

/** Verdicts newest first, in runs: `newestFirst(["sent_back", 4], ["approved", 6])`. */
export function newestFirst(...runs: [Verdict, number][]): Verdict[] {
  return runs.flatMap(([verdict, count]) => Array.from({ length: count }, () => verdict));
}

export interface Night {
  now?: string;
  tasks: PlanTask[];
  /** Status of blockers that are not among `tasks`. */
  blockers?: Record<number, TaskStatus>;
  finished?: { agent: string; goalId: number; taskId: number; at: string }[];
  mode?: Mode;
  paused?: boolean;
  limits?: Partial<PlanLimits>;
  budgetSpent?: { dispatches: number; costUsd: number };
  runnerSlots?: number | null;
  trust?: { agent: string; type: string; pin?: Tier | null; verdicts?: Verdict[] }[];
}

export function planInput(night: Night): PlanInput {
  const statusOf = new Map<number, TaskStatus>(night.tasks.map((t) => [t.id, t.status]));
  for (const [id, status] of Object.entries(night.blockers ?? {})) statusOf.set(Number(id), status);
  return {
    now: new Date(night.now ?? NOW),
    tasks: night.tasks,
    statusOf,
    lastFinished: new Map((night.finished ?? []).map((f) => [key(f.agent, f.goalId), { taskId: f.taskId, at: f.at }])),
    mode: night.mode ?? "sprint",
    paused: night.paused ?? false,
    limits: limits(night.limits),
    budgetSpent: night.budgetSpent ?? { dispatches: 0, costUsd: 0 },
    runnerSlots: night.runnerSlots === undefined ? null : night.runnerSlots,
    trust: new Map((night.trust ?? []).map((t) => [key(t.agent, t.type), { pin: t.pin ?? null, verdicts: t.verdicts ?? [] }])),
  };
}

export type HoldDecision = Extract<Decision, { kind: "hold" }>;
export type DispatchDecision = Extract<Decision, { kind: "dispatch" }>;

export class Planned {
  constructor(readonly decisions: Decision[]) {}

  /** Ids dispatched by the pass, in the order it dispatched them. */
  dispatched(): number[] {
    return this.decisions.filter((d) => d.kind === "dispatch").map((d) => d.taskId);
  }

  dispatchOf(id: number): DispatchDecision | undefined {
    return this.decisions.find((d): d is DispatchDecision => d.kind === "dispatch" && d.taskId === id);
  }

  holdOf(id: number): HoldDecision | undefined {
    return this.decisions.find((d): d is HoldDecision => d.kind === "hold" && d.taskId === id);
  }

  /** The hold's code, or `dispatch` when the task went out. */
  outcomeOf(id: number): Hold["code"] | "dispatch" | undefined {
    if (this.dispatchOf(id)) return "dispatch";
    return this.holdOf(id)?.code;
  }

  of(kind: Decision["kind"]): Decision[] {
    return this.decisions.filter((d) => d.kind === kind);
  }
}

/** Given this night, when the resolver plans a pass. */
export function givenNight(night: Night) {
  return { whenPlanned: () => new Planned(plan(planInput(night))) };
}
