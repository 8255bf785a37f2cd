import { describe, expect, it } from "vitest";
import { decideTask } from "../../src/domain/task/decide.ts";
import { foldTask, type TaskDefinition } from "../../src/domain/task/task.ts";
import { memoryQuery } from "../../src/app/memory.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { taskDefinition } from "../fixtures/store-kit.ts";

const meta = { at: "2026-11-23T22:00:00.000Z", actor: "agent:writer" };
const queue = (overrides: Partial<TaskDefinition>) =>
  decideTask({ type: "QueueTask", data: taskDefinition(5, overrides), graph: new Map() }, null, meta);
const origin = (generation: number) => ({ taskId: 2, attempt: 1, generation });

describe("a task an agent queues", () => {
  it("records its creator and generation, and keeps them in the task's state", () => {
    const [event] = queue({ tier: "gate", createdBy: origin(1) });
    expect(event!.data).toMatchObject({ createdBy: origin(1), tier: "gate" });
    const state = foldTask([{ ...(event as never as { type: "TaskQueued"; data: TaskDefinition }), at: meta.at }]);
    expect(state).toMatchObject({ createdBy: origin(1), tierPin: "gate" });
  });

  it("is always at tier gate and priority 0", () => {
    expect(() => queue({ tier: "auto", createdBy: origin(1) })).toThrow("always reviewed at tier gate");
    expect(() => queue({ tier: null, createdBy: origin(1) })).toThrow("always reviewed at tier gate");
    expect(() => queue({ tier: "gate", priority: 5, createdBy: origin(1) })).toThrow("cannot set a task's priority");
  });

  it("is refused deeper than two agent-created generations", () => {
    expect(queue({ tier: "gate", createdBy: origin(2) })).toHaveLength(1);
    expect(() => queue({ tier: "gate", createdBy: origin(3) })).toThrow(ValidationError);
    expect(() => queue({ tier: "gate", createdBy: origin(3) })).toThrow("chains deeper than 2 agent-created generations are not allowed");
    expect(() => queue({ tier: "gate", createdBy: origin(0) })).toThrow("generation 1 or more");
  });

  it("an older TaskQueued without the new fields still folds", () => {
    const state = foldTask([{ type: "TaskQueued", data: taskDefinition(1), at: meta.at }]);
    expect(state?.skills).toBeUndefined();
    expect(state?.createdBy).toBeUndefined();
  });
});

describe("task skills", () => {
  it("takes folder names and refuses paths", () => {
    expect(queue({ skills: ["seo", "tone.v2", "long_form-1"] })[0]!.data).toMatchObject({ skills: ["seo", "tone.v2", "long_form-1"] });
    for (const bad of ["../etc", "a/b", ".hidden", ""]) {
      expect(() => queue({ skills: [bad] }), bad).toThrow(`skill "${bad}" is not a skill name`);
    }
  });
});

describe("search_memory's query", () => {
  it("turns prose into quoted FTS5 terms, any of which may match, without the filler words, so no input is a syntax error", () => {
    expect(memoryQuery('How did we "preload" fonts? NEAR(a b) OR -x*')).toBe('"preload" OR "fonts" OR "near" OR "b" OR "x"');
    expect(memoryQuery("what did we do")).toBe('"what" OR "did" OR "we" OR "do"');
    expect(memoryQuery("Café über")).toBe('"café" OR "über"');
    expect(() => memoryQuery("?! --")).toThrow("give some words to search for");
  });
});
