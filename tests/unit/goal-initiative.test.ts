import { describe, expect, it } from "vitest";
import { decideGoal, evolveGoal, goalStream, type GoalCommand, type GoalEvent, type GoalState } from "../../src/domain/goal/goal.ts";
import {
  decideInitiative,
  evolveInitiative,
  initiativeStream,
  type InitiativeCommand,
  type InitiativeEvent,
  type InitiativeState,
} from "../../src/domain/initiative/initiative.ts";
import { IllegalStateError, ValidationError } from "../../src/shared/errors.ts";
import { META, T0, specFor } from "./given.ts";

const givenGoal = specFor<GoalCommand, GoalState, GoalEvent>({ decide: (c, s) => decideGoal(c, s), evolve: evolveGoal });
const givenInitiative = specFor<InitiativeCommand, InitiativeState, InitiativeEvent>({
  decide: (c, s) => decideInitiative(c, s),
  evolve: evolveInitiative,
});

const goal: GoalCommand["data"] = { goalId: 3, title: "Launch the blog", success: "10 posts live by March", project: "site" };
const initiative: InitiativeCommand["data"] = { initiativeId: 4, goalId: 3, title: "Blog engine", success: "MDX posts render" };
const createGoal = (data: Partial<GoalCommand["data"]> = {}): GoalCommand => ({ type: "CreateGoal", data: { ...goal, ...data } });
const createInitiative = (data: Partial<InitiativeCommand["data"]> = {}): InitiativeCommand => ({
  type: "CreateInitiative",
  data: { ...initiative, ...data },
});

describe("goals", () => {
  it("creates a goal", () => {
    givenGoal([]).when(createGoal()).then([{ type: "GoalCreated", data: goal }]);
  });

  it("creates a goal without a success line or project", () => {
    givenGoal([]).when(createGoal({ success: null, project: null })).then([
      { type: "GoalCreated", data: { ...goal, success: null, project: null } },
    ]);
  });

  it("keeps the goal and when it was created", () => {
    expect(givenGoal([]).when(createGoal()).thenState()).toEqual({ id: 3, title: "Launch the blog", success: "10 posts live by March", project: "site", createdAt: META.at });
  });

  it("refuses a goal id that already exists", () => {
    givenGoal([{ type: "GoalCreated", data: goal, at: T0 }]).when(createGoal()).thenThrows(IllegalStateError, "goal 3 already exists");
  });

  it.each([
    ["an empty title", { title: " " }, "a goal needs a title"],
    ["a title over 200 characters", { title: "g".repeat(201) }, "the goal title is longer than 200 characters"],
    ["a success description over two lines", { success: "one\ntwo" }, "the goal's success description must be one line"],
    ["a success description with a carriage return", { success: "one\rtwo" }, "must be one line"],
    ["a success description over 500 characters", { success: "s".repeat(501) }, "the goal's success description is longer than 500 characters"],
  ])("refuses %s", (_, data, message) => {
    givenGoal([]).when(createGoal(data)).thenThrows(ValidationError, message);
  });

  it("names a goal's stream by its id", () => {
    expect(goalStream(3)).toBe("goal-3");
  });
});

describe("initiatives", () => {
  it("creates an initiative under a goal", () => {
    givenInitiative([]).when(createInitiative()).then([{ type: "InitiativeCreated", data: initiative }]);
  });

  it("keeps the initiative, its goal and when it was created", () => {
    expect(givenInitiative([]).when(createInitiative()).thenState()).toEqual({ id: 4, goalId: 3, title: "Blog engine", success: "MDX posts render", createdAt: META.at });
  });

  it("refuses an initiative id that already exists", () => {
    givenInitiative([{ type: "InitiativeCreated", data: initiative, at: T0 }])
      .when(createInitiative())
      .thenThrows(IllegalStateError, "initiative 4 already exists");
  });

  it.each([
    ["an empty title", { title: "" }, "an initiative needs a title"],
    ["a multi-line success description", { success: "a\nb" }, "the initiative's success description must be one line"],
    ["a success description over 500 characters", { success: "s".repeat(501) }, "the initiative's success description is longer than 500"],
  ])("refuses %s", (_, data, message) => {
    givenInitiative([]).when(createInitiative(data)).thenThrows(ValidationError, message);
  });

  it("names an initiative's stream by its id", () => {
    expect(initiativeStream(4)).toBe("initiative-4");
  });
});
