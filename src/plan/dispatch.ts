import type { Isolation, Tier } from "../domain/task/task.ts";
import { defaultTierOf, trustNote, trustStanding } from "../domain/trust/trust.ts";
import { key, type PlanInput, type PlanLimits, type PlanTask } from "./input.ts";

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
