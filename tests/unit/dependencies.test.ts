import { describe, expect, it } from "vitest";
import { checkBlockers, type BlockerGraph } from "../../src/domain/task/dependencies.ts";
import { ValidationError } from "../../src/shared/errors.ts";

/** Builds a graph from "id: blockers" pairs. */
const graphOf = (edges: Record<number, number[]>): BlockerGraph => new Map(Object.entries(edges).map(([id, deps]) => [Number(id), deps]));

function refusal(taskId: number, blockedBy: number[], graph: BlockerGraph): ValidationError {
  try {
    checkBlockers(taskId, blockedBy, graph);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`blockers ${blockedBy.join(",")} of #${taskId} were accepted`);
}

describe("accepted blockers", () => {
  it("accepts no blockers", () => {
    expect(() => checkBlockers(1, [], new Map())).not.toThrow();
  });

  it("accepts known tasks", () => {
    expect(() => checkBlockers(5, [1, 2], graphOf({ 1: [], 2: [1], 5: [] }))).not.toThrow();
  });

  it("accepts a diamond, which shares blockers but has no cycle", () => {
    // 5 waits for 3 and 4; both wait for 2; 2 waits for 1.
    expect(() => checkBlockers(5, [3, 4], graphOf({ 1: [], 2: [1], 3: [2], 4: [2], 5: [] }))).not.toThrow();
  });

  it("accepts replacing blockers of a task that others wait for, when no path leads back", () => {
    // 2 waits for 1; 1 is edited to wait for 3, which waits for nothing.
    expect(() => checkBlockers(1, [3], graphOf({ 1: [], 2: [1], 3: [] }))).not.toThrow();
  });

  it("stops on an existing cycle that does not pass through the task", () => {
    expect(() => checkBlockers(9, [5], graphOf({ 5: [6], 6: [5], 9: [] }))).not.toThrow();
  });
});

describe("refused blockers", () => {
  it("refuses a task waiting for itself and says how to fix it", () => {
    expect(refusal(3, [1, 3], graphOf({ 1: [], 3: [] })).message).toBe("task #3 cannot wait for itself; remove #3 from its blockers");
  });

  it("refuses unknown ids and names every one", () => {
    expect(refusal(5, [1, 7, 9], graphOf({ 1: [], 5: [] })).message).toBe('unknown blocker #7, #9: no such task (see "cos task list")');
  });

  it("refuses a cycle of two and names both ids", () => {
    expect(refusal(1, [2], graphOf({ 1: [], 2: [1] })).message).toBe(
      "blockers would make a cycle: #1 → #2 → #1; a task cannot wait, even indirectly, for itself",
    );
  });

  it("refuses a longer cycle and names the path", () => {
    expect(refusal(1, [2], graphOf({ 1: [], 2: [3], 3: [4], 4: [1] })).message).toContain("#1 → #2 → #3 → #4 → #1");
  });

  it("finds the cycle through any of several new blockers", () => {
    expect(refusal(1, [8, 2], graphOf({ 1: [], 2: [3], 3: [1], 8: [9], 9: [] })).message).toContain("#1 → #2 → #3 → #1");
  });

  it("finds a cycle behind a branch that does not close one", () => {
    expect(refusal(1, [2], graphOf({ 1: [], 2: [4, 3], 3: [5], 4: [], 5: [1] })).message).toContain("#1 → #2 → #3 → #5 → #1");
  });

  it("refuses a cycle through a chain 10,000 tasks deep without running out of stack", () => {
    const depth = 10_000;
    const edges: Record<number, number[]> = { 1: [] };
    for (let id = 2; id < depth; id++) edges[id] = [id + 1];
    edges[depth] = [1];
    const message = refusal(1, [2], graphOf(edges)).message;
    expect(message).toContain("#1 → #2 → #3 → ");
    expect(message).toContain(`#${depth - 1} → #${depth} → #1;`);
  });
});
