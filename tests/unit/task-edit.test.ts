import { describe, expect, it } from "vitest";
import type { BlockerGraph } from "../../src/domain/task/dependencies.ts";
import type { TaskCommand } from "../../src/domain/task/decide.ts";
import { TERMINAL_STATUSES, type TaskEdit } from "../../src/domain/task/task.ts";
import { IllegalStateError, ValidationError } from "../../src/shared/errors.ts";
import { givenTask, historyIn, queued } from "./given.ts";

const edit = (data: TaskEdit, graph: BlockerGraph = new Map()): TaskCommand => ({ type: "EditTask", data, graph });

/** Tasks 1–4 exist besides #7; 2 waits for 7 and 3 waits for 2. */
const graph: BlockerGraph = new Map([
  [1, []],
  [2, [7]],
  [3, [2]],
  [4, []],
  [7, [1]],
]);

describe("editing a queued task", () => {
  it("changes its blockers, priority, area, agent and tier pin", () => {
    givenTask([queued({ blockedBy: [1] })])
      .when(edit({ blockedBy: [4], priority: 5, area: "blog", agent: "writer", tier: "gate" }, graph))
      .then([{ type: "TaskEdited", data: { changes: { blockedBy: [4], priority: 5, area: "blog", agent: "writer", tier: "gate" } } }]);
  });

  it("applies the changes to the state, the tier as the task's pin", () => {
    const state = givenTask([queued({ blockedBy: [1] })])
      .when(edit({ blockedBy: [], priority: -2, area: "blog", agent: "writer", tier: "auto" }, graph))
      .thenState();
    expect(state).toMatchObject({ blockedBy: [], priority: -2, area: "blog", agent: "writer", tierPin: "auto", dispatchTier: null });
  });

  it("keeps only the fields that really change", () => {
    givenTask([queued({ priority: 3, area: "blog", agent: "builder" })])
      .when(edit({ priority: 3, area: "docs", agent: "builder" }))
      .then([{ type: "TaskEdited", data: { changes: { area: "docs" } } }]);
  });

  it("clears the area and the tier pin with null", () => {
    givenTask([queued({ area: "blog", tier: "quick" })])
      .when(edit({ area: null, tier: null }))
      .then([{ type: "TaskEdited", data: { changes: { area: null, tier: null } } }]);
  });

  it("drops repeated blockers", () => {
    givenTask([queued()]).when(edit({ blockedBy: [1, 4, 1] }, graph)).then([{ type: "TaskEdited", data: { changes: { blockedBy: [1, 4] } } }]);
  });

  it("refuses a fractional priority", () => {
    givenTask([queued()]).when(edit({ priority: 0.5 })).thenThrows(ValidationError, "priority must be a whole number, got 0.5");
  });
});

describe("edits that change nothing", () => {
  it.each<[string, TaskEdit]>([
    ["no fields", {}],
    ["only undefined fields", { priority: undefined, area: undefined }],
    ["the same priority", { priority: 0 }],
    ["the same area", { area: null }],
    ["the same agent", { agent: "builder" }],
    ["the same tier pin", { tier: null }],
  ])("emits nothing for %s", (_, changes) => {
    givenTask([queued()]).when(edit(changes)).thenNothing();
  });

  it("emits nothing for the same blockers", () => {
    givenTask([queued({ blockedBy: [1, 4] })]).when(edit({ blockedBy: [1, 4] }, graph)).thenNothing();
  });

  it("emits nothing for the same blockers named twice", () => {
    givenTask([queued({ blockedBy: [1] })]).when(edit({ blockedBy: [1, 1] }, graph)).thenNothing();
  });

  it("compares a tier pin with the pin, not with the tier fixed at dispatch", () => {
    givenTask([queued({ tier: "auto" })]).when(edit({ tier: "auto" })).thenNothing();
  });
});

describe("edits refused", () => {
  it.each(["dispatched", "running", "review"] as const)("refuses to change the blockers, area, agent or tier of a %s task", (status) => {
    const error = givenTask(historyIn[status]())
      .when(edit({ blockedBy: [1], area: "blog", agent: "writer", tier: "gate" }, graph))
      .thenThrows(IllegalStateError, `task #7 is ${status}: its blockedBy, area, agent, tier can change only while it is queued`);
    expect(error.message).toContain("cancel it and queue a new one instead");
  });

  it.each<[keyof TaskEdit, TaskEdit]>([
    ["blockedBy", { blockedBy: [1] }],
    ["area", { area: "blog" }],
    ["agent", { agent: "writer" }],
    ["tier", { tier: "auto" }],
  ])("names the one field (%s) that cannot change after dispatch", (field, changes) => {
    givenTask(historyIn.running()).when(edit(changes, graph)).thenThrows(IllegalStateError, `its ${field} can change only while it is queued`);
  });

  it.each(["dispatched", "running", "review"] as const)("still lets a person change the priority of a %s task", (status) => {
    givenTask(historyIn[status]()).when(edit({ priority: 9 })).then([{ type: "TaskEdited", data: { changes: { priority: 9 } } }]);
  });

  it.each(TERMINAL_STATUSES)("refuses any edit of a %s task", (status) => {
    givenTask(historyIn[status]()).when(edit({ priority: 9 })).thenThrows(IllegalStateError, `task #7 is ${status}; only an open task can be edited`);
  });

  it("refuses a cycle in blockers", () => {
    givenTask([queued({ blockedBy: [1] })])
      .when(edit({ blockedBy: [3] }, graph))
      .thenThrows(ValidationError, "blockers would make a cycle: #7 → #3 → #2 → #7");
  });

  it("refuses an unknown blocker", () => {
    givenTask([queued()]).when(edit({ blockedBy: [1, 42] }, graph)).thenThrows(ValidationError, "unknown blocker #42");
  });

  it("refuses making the task wait for itself", () => {
    givenTask([queued()]).when(edit({ blockedBy: [7] }, graph)).thenThrows(ValidationError, "task #7 cannot wait for itself");
  });
});
