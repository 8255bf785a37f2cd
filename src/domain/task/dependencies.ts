import { ValidationError } from "../../shared/errors.ts";
import type { TaskStatus } from "./task.ts";

/** id → the ids it waits for. */
export type BlockerGraph = ReadonlyMap<number, readonly number[]>;

/**
 * Refuses unknown ids, a task waiting for itself, and any cycle the new edges would close. Messages
 * name the ids so a person can fix the command.
 */
export function checkBlockers(taskId: number, blockedBy: readonly number[], graph: BlockerGraph): void {
  if (blockedBy.includes(taskId)) {
    throw new ValidationError(`task #${taskId} cannot wait for itself; remove #${taskId} from its blockers`);
  }
  const unknown = blockedBy.filter((id) => id !== taskId && !graph.has(id));
  if (unknown.length) {
    const list = unknown.map((id) => `#${id}`).join(", ");
    throw new ValidationError(`unknown blocker ${list}: no such task`, { way: "list-tasks" });
  }
  const cycle = findCycle(taskId, blockedBy, graph);
  if (cycle) {
    throw new ValidationError(
      `blockers would make a cycle: ${cycle.map((id) => `#${id}`).join(" → ")}; a task cannot wait, even indirectly, for itself`,
    );
  }
}

/** How a blocker can end so that its dependents wait for a person, not for time (DESIGN §3). */
export const BAD_ENDINGS: readonly TaskStatus[] = ["discarded", "cancelled", "failed"];

export function endedBadly(status: TaskStatus): boolean {
  return BAD_ENDINGS.includes(status);
}

/**
 * The blockers that hold a task until a person cancels it or changes its blockers: those that ended
 * discarded, cancelled or failed. Empty when the task is not held for that reason.
 */
export function blockersEndedBadly<B extends { status: TaskStatus }>(blockers: readonly B[]): B[] {
  return blockers.filter((b) => endedBadly(b.status));
}

/** A path taskId → … → taskId through the new blockers, or null. Iterative: graphs can be deep. */
function findCycle(taskId: number, blockedBy: readonly number[], graph: BlockerGraph): number[] | null {
  const parent = new Map<number, number>();
  const stack: number[] = [];
  for (const id of blockedBy) {
    if (!parent.has(id)) {
      parent.set(id, taskId);
      stack.push(id);
    }
  }
  while (stack.length) {
    const id = stack.pop()!;
    for (const next of graph.get(id) ?? []) {
      if (next === taskId) {
        const chain: number[] = [];
        for (let at = id; at !== taskId; at = parent.get(at)!) chain.push(at);
        return [taskId, ...chain.reverse(), taskId];
      }
      if (!parent.has(next)) {
        parent.set(next, id);
        stack.push(next);
      }
    }
  }
  return null;
}
