import type { Mode } from "../domain/settings/settings.ts";
import type { TaskStatus } from "../domain/task/task.ts";

/**
 * Why a queued task is not dispatched in this pass (DESIGN §4): a code with its detail. Holds are
 * computed each pass, never appended; `describeHold` puts them in words.
 */
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

export type HoldCode = Hold["code"];

/**
 * Holds that time and other tasks cannot lift: a blocker ended badly, or a promised skill has no
 * SKILL.md. The digest lists them under "Failed or held"; the rest is ordinary waiting.
 */
export const HOLDS_FOR_A_PERSON: readonly HoldCode[] = ["blocker_ended", "missing_skill"];

export function waitsForAPerson(hold: Hold | undefined): boolean {
  return hold !== undefined && HOLDS_FOR_A_PERSON.includes(hold.code);
}
