import { describe, expect, it } from "vitest";
import { isolationOf } from "../../src/plan/dispatch.ts";
import type { PlanTask } from "../../src/plan/input.ts";
import { plan } from "../../src/plan/plan.ts";
import type { TaskStatus } from "../../src/domain/task/task.ts";
import {
  NOW,
  at,
  dispatchedTask,
  givenNight,
  inReview,
  limits,
  planInput,
  plusMinutes,
  plusMs,
  running,
  task,
  type Night,
} from "./plan-fixtures.ts";

describe("rule 1: every blocker is approved", () => {
  it("dispatches a task whose blockers are all approved", () => {
    const planned = givenNight({ tasks: [task(20, { blockedBy: [11, 12] })], blockers: { 11: "approved", 12: "approved" } }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("holds a task whose blocker is in review, naming the blocker and its status", () => {
    const planned = givenNight({ tasks: [task(20, { blockedBy: [12] })], blockers: { 12: "review" } }).whenPlanned();
    expect(planned.holdOf(20)).toEqual({ kind: "hold", taskId: 20, code: "blocked", waitingFor: [{ id: 12, status: "review" }] });
  });

  it("lists every open blocker and leaves out the approved ones", () => {
    const planned = givenNight({
      tasks: [task(20, { blockedBy: [11, 12, 13] })],
      blockers: { 11: "approved", 12: "review", 13: "queued" },
    }).whenPlanned();
    expect(planned.holdOf(20)).toMatchObject({ code: "blocked", waitingFor: [{ id: 12, status: "review" }, { id: 13, status: "queued" }] });
  });

  it.each(["queued", "dispatched", "running", "review"] as TaskStatus[])("waits for a blocker that is %s", (status) => {
    const planned = givenNight({ tasks: [task(20, { blockedBy: [12] })], blockers: { 12: status } }).whenPlanned();
    expect(planned.holdOf(20)).toMatchObject({ code: "blocked", waitingFor: [{ id: 12, status }] });
  });

  it("waits for a blocker queued in the same pass rather than dispatching alongside it", () => {
    const planned = givenNight({ tasks: [task(12, { agent: "writer" }), task(20, { blockedBy: [12] })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([12]);
    expect(planned.holdOf(20)).toMatchObject({ code: "blocked", waitingFor: [{ id: 12, status: "queued" }] });
  });

  it.each(["discarded", "cancelled", "failed"] as TaskStatus[])("holds a task whose blocker ended %s as blocker_ended", (status) => {
    const planned = givenNight({ tasks: [task(20, { blockedBy: [12] })], blockers: { 12: status } }).whenPlanned();
    expect(planned.holdOf(20)).toEqual({ kind: "hold", taskId: 20, code: "blocker_ended", ended: [{ id: 12, status }] });
  });

  it("reports the ended blocker rather than the one still open when both apply", () => {
    const planned = givenNight({ tasks: [task(20, { blockedBy: [11, 12, 13] })], blockers: { 11: "review", 12: "failed", 13: "approved" } }).whenPlanned();
    expect(planned.holdOf(20)).toMatchObject({ code: "blocker_ended", ended: [{ id: 12, status: "failed" }] });
  });
});

describe("rule 2: the agent is not busy", () => {
  it.each([
    ["dispatched", dispatchedTask(15)],
    ["running", running(15)],
  ])("holds a task while its agent has a %s task", (_, busy) => {
    const planned = givenNight({ tasks: [busy, task(20)] }).whenPlanned();
    expect(planned.holdOf(20)).toEqual({ kind: "hold", taskId: 20, code: "agent_busy", agent: "builder", busyWith: 15 });
  });

  it("does not count a task in review as keeping its agent busy", () => {
    const planned = givenNight({ tasks: [inReview(15, "gate", at("03:00")), task(20)] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("lets another agent's running task be", () => {
    const planned = givenNight({ tasks: [running(15, { agent: "writer" }), task(20)] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("dispatches only the first of two queued tasks of one agent in one pass", () => {
    const planned = givenNight({ tasks: [task(21), task(20)] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
    expect(planned.holdOf(21)).toMatchObject({ code: "agent_busy", agent: "builder", busyWith: 20 });
  });
});

describe("rule 3: no active task shares the area", () => {
  it("holds a task whose area is held by another agent's running task", () => {
    const planned = givenNight({ tasks: [running(15, { agent: "writer", area: "blog" }), task(20, { area: "blog" })] }).whenPlanned();
    expect(planned.holdOf(20)).toEqual({ kind: "hold", taskId: 20, code: "area", area: "blog", heldBy: 15 });
  });

  it("holds the area for a dispatched task too", () => {
    const planned = givenNight({ tasks: [dispatchedTask(15, { agent: "writer", area: "blog" }), task(20, { area: "blog" })] }).whenPlanned();
    expect(planned.holdOf(20)).toMatchObject({ code: "area", heldBy: 15 });
  });

  it("dispatches tasks in different areas side by side", () => {
    const planned = givenNight({ tasks: [running(15, { agent: "writer", area: "blog" }), task(20, { area: "shop" })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("never holds a task without an area for area reasons", () => {
    const planned = givenNight({ tasks: [running(15, { agent: "writer", area: null }), task(20, { area: null })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("does not let a task in review hold its area", () => {
    const planned = givenNight({ tasks: [inReview(15, "gate", at("03:00"), { agent: "writer", area: "blog" }), task(20, { area: "blog" })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("holds the second of two tasks with one area in one pass", () => {
    const planned = givenNight({ tasks: [task(20, { area: "blog" }), task(21, { agent: "writer", area: "blog" })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
    expect(planned.holdOf(21)).toMatchObject({ code: "area", area: "blog", heldBy: 20 });
  });
});

describe("rule 4: cooldown after a finished task of the same goal", () => {
  const finishedAt0330 = [{ agent: "builder", goalId: 3, taskId: 14, at: at("03:30") }];

  it("holds a task in sprint mode until 10 minutes after the agent finished a task of its goal", () => {
    const planned = givenNight({ now: at("03:35"), tasks: [task(20, { goalId: 3 })], finished: finishedAt0330 }).whenPlanned();
    expect(planned.holdOf(20)).toEqual({
      kind: "hold",
      taskId: 20,
      code: "cooldown",
      agent: "builder",
      finishedTask: 14,
      finishedAt: at("03:30"),
      mode: "sprint",
      until: at("03:40"),
    });
  });

  it("still holds a sprint task one millisecond before the cooldown ends", () => {
    const planned = givenNight({ now: plusMs(at("03:40"), -1), tasks: [task(20, { goalId: 3 })], finished: finishedAt0330 }).whenPlanned();
    expect(planned.outcomeOf(20)).toBe("cooldown");
  });

  it("dispatches exactly when the sprint cooldown ends", () => {
    const planned = givenNight({ now: at("03:40"), tasks: [task(20, { goalId: 3 })], finished: finishedAt0330 }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("waits 60 minutes in idle mode", () => {
    const planned = givenNight({ now: at("04:20"), mode: "idle", tasks: [task(20, { goalId: 3 })], finished: finishedAt0330 }).whenPlanned();
    expect(planned.holdOf(20)).toMatchObject({ code: "cooldown", mode: "idle", until: at("04:30") });
  });

  it("dispatches exactly when the idle cooldown ends", () => {
    const planned = givenNight({ now: at("04:30"), mode: "idle", tasks: [task(20, { goalId: 3 })], finished: finishedAt0330 }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("uses the configured minutes", () => {
    const night: Night = { now: at("03:35"), tasks: [task(20, { goalId: 3 })], finished: finishedAt0330, limits: { cooldownMinutes: { sprint: 5, idle: 60 } } };
    expect(givenNight(night).whenPlanned().dispatched()).toEqual([20]);
  });

  it("has no cooldown for a task of another goal", () => {
    const planned = givenNight({ tasks: [task(20, { goalId: 4 })], finished: finishedAt0330 }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("has no cooldown for a task without a goal", () => {
    const planned = givenNight({ tasks: [task(20, { goalId: null })], finished: finishedAt0330 }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("has no cooldown when another agent finished the goal's task", () => {
    const planned = givenNight({ tasks: [task(20, { goalId: 3, agent: "writer" })], finished: finishedAt0330 }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });
});

describe("rule 5: global cap and runner slots", () => {
  const threeRunning = [running(15, { agent: "a" }), running(16, { agent: "b" }), dispatchedTask(17, { agent: "c" })];

  it("holds a task while maxConcurrent tasks are dispatched or running", () => {
    const planned = givenNight({ tasks: [...threeRunning, task(20)] }).whenPlanned();
    expect(planned.holdOf(20)).toEqual({ kind: "hold", taskId: 20, code: "capacity", used: 3, max: 3 });
  });

  it("counts the dispatches of the same pass against the cap", () => {
    const planned = givenNight({ tasks: [running(15, { agent: "a" }), running(16, { agent: "b" }), task(20), task(21, { agent: "writer" })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
    expect(planned.holdOf(21)).toMatchObject({ code: "capacity", used: 3, max: 3 });
  });

  it("uses the configured cap", () => {
    const planned = givenNight({ tasks: [running(15, { agent: "a" }), task(20)], limits: { maxConcurrent: 1 } }).whenPlanned();
    expect(planned.holdOf(20)).toMatchObject({ code: "capacity", used: 1, max: 1 });
  });

  it("does not count tasks in review against the cap", () => {
    const reviews = [1, 2, 3].map((id) => inReview(id, "gate", at("01:00"), { agent: `r${id}` }));
    const planned = givenNight({ tasks: [...reviews, task(20)] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("holds every task when no runner has a free slot", () => {
    const planned = givenNight({ tasks: [task(20)], runnerSlots: 0 }).whenPlanned();
    expect(planned.holdOf(20)).toEqual({ kind: "hold", taskId: 20, code: "no_runner" });
  });

  it("dispatches no more tasks than the runners have free slots", () => {
    const planned = givenNight({ tasks: [task(20), task(21, { agent: "writer" }), task(22, { agent: "editor" })], runnerSlots: 2 }).whenPlanned();
    expect(planned.dispatched()).toEqual([20, 21]);
    expect(planned.outcomeOf(22)).toBe("no_runner");
  });

  it("is limited only by the cap when runner slots are unknown", () => {
    const agents = ["a", "b", "c", "d"];
    const planned = givenNight({ tasks: agents.map((agent, i) => task(20 + i, { agent })), runnerSlots: null }).whenPlanned();
    expect(planned.dispatched()).toEqual([20, 21, 22]);
    expect(planned.outcomeOf(23)).toBe("capacity");
  });
});

describe("rule 6: paused and the nightly budget", () => {
  it("holds every ready task while the resolver is paused", () => {
    const planned = givenNight({ tasks: [task(20), task(21, { agent: "writer" })], paused: true }).whenPlanned();
    expect(planned.dispatched()).toEqual([]);
    expect(planned.holdOf(20)).toEqual({ kind: "hold", taskId: 20, code: "paused" });
    expect(planned.outcomeOf(21)).toBe("paused");
  });

  it("stops dispatching when the night's dispatch budget runs out within the pass", () => {
    const planned = givenNight({
      tasks: [task(20), task(21, { agent: "writer" })],
      limits: { budget: { maxDispatches: 5 } },
      budgetSpent: { dispatches: 4, costUsd: 0 },
    }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
    expect(planned.holdOf(21)).toEqual({ kind: "hold", taskId: 21, code: "budget", detail: "5 of 5 dispatches tonight" });
  });

  it("holds a task once the night's cost budget is spent", () => {
    const planned = givenNight({ tasks: [task(20)], limits: { budget: { maxCostUsd: 10 } }, budgetSpent: { dispatches: 0, costUsd: 10 } }).whenPlanned();
    expect(planned.holdOf(20)).toMatchObject({ code: "budget", detail: "$10.00 of $10.00 spent tonight" });
  });

  it("dispatches while the cost budget has something left", () => {
    const planned = givenNight({ tasks: [task(20)], limits: { budget: { maxCostUsd: 10 } }, budgetSpent: { dispatches: 40, costUsd: 9.99 } }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("has no budget limit when no budget is configured", () => {
    const planned = givenNight({ tasks: [task(20)], limits: { budget: null }, budgetSpent: { dispatches: 1000, costUsd: 1000 } }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });
});

describe("usage limits", () => {
  it("holds a task until the reset time its agent printed", () => {
    const planned = givenNight({ tasks: [task(20, { notBefore: at("05:00") })] }).whenPlanned();
    expect(planned.holdOf(20)).toEqual({ kind: "hold", taskId: 20, code: "usage_limit", until: at("05:00") });
  });

  it("dispatches the task once the reset time has come", () => {
    const planned = givenNight({ now: at("05:00"), tasks: [task(20, { notBefore: at("05:00") })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });
});

describe("the order of the queue", () => {
  const oneAtATime: Partial<Night> = { limits: { maxConcurrent: 1 } };

  it("dispatches the higher priority first, even when it is younger", () => {
    const planned = givenNight({ ...oneAtATime, tasks: [task(20), task(21, { agent: "writer", priority: 5 })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([21]);
    expect(planned.outcomeOf(20)).toBe("capacity");
  });

  it.each([
    ["the oldest of equal priority first, whatever its id", [task(20, { createdAt: at("01:00") }), task(30, { agent: "writer", createdAt: at("00:30") })]],
    ["the lower id first when priority and age are equal", [task(31, { createdAt: at("01:00") }), task(30, { agent: "writer", createdAt: at("01:00") })]],
  ])("dispatches %s", (_, tasks) => {
    expect(givenNight({ ...oneAtATime, tasks }).whenPlanned().dispatched()).toEqual([30]);
  });

  it("decides the same whatever order the tasks arrive in", () => {
    const tasks = [task(20, { priority: 1 }), task(21, { agent: "writer", priority: 3 }), task(22, { agent: "editor" }), task(23, { agent: "a", priority: 3 })];
    const forward = givenNight({ tasks }).whenPlanned();
    const backward = givenNight({ tasks: [...tasks].reverse() }).whenPlanned();
    expect(forward.dispatched()).toEqual([21, 23, 20]);
    expect(backward.decisions).toEqual(forward.decisions);
  });

  it("gives the agent to the first task in queue order and holds the rest", () => {
    const planned = givenNight({ tasks: [task(20), task(21, { priority: 2 })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([21]);
    expect(planned.holdOf(20)).toMatchObject({ code: "agent_busy", busyWith: 21 });
  });
});

describe("which reason wins: the first failing rule in §4 order", () => {
  // One queued task that every rule can hold; each row lifts one more obstacle.
  interface Obstacles {
    usageLimit: boolean;
    blocker: boolean;
    busy: boolean;
    area: boolean;
    cooldown: boolean;
    capacity: boolean;
    runner: boolean;
    paused: boolean;
    budget: boolean;
  }
  const all: Obstacles = { usageLimit: true, blocker: true, busy: true, area: true, cooldown: true, capacity: true, runner: true, paused: true, budget: true };

  function night(o: Obstacles): Night {
    return {
      tasks: [
        task(20, { goalId: 3, area: "blog", blockedBy: [12], notBefore: o.usageLimit ? at("05:00") : null }),
        running(15, { agent: o.busy ? "builder" : "writer" }),
        running(16, { agent: "designer", area: o.area ? "blog" : "docs" }),
      ],
      blockers: { 12: o.blocker ? "review" : "approved" },
      finished: o.cooldown ? [{ agent: "builder", goalId: 3, taskId: 14, at: at("03:30") }] : [],
      limits: { maxConcurrent: o.capacity ? 2 : 3, budget: o.budget ? { maxDispatches: 5 } : null },
      budgetSpent: { dispatches: 5, costUsd: 0 },
      runnerSlots: o.runner ? 0 : null,
      paused: o.paused,
    };
  }

  const lifted: [keyof Obstacles, string][] = [
    ["usageLimit", "blocked"],
    ["blocker", "agent_busy"],
    ["busy", "area"],
    ["area", "cooldown"],
    ["cooldown", "capacity"],
    ["capacity", "no_runner"],
    ["runner", "paused"],
    ["paused", "budget"],
    ["budget", "dispatch"],
  ];

  it("reports the usage limit while the agent cannot run at all", () => {
    expect(givenNight(night(all)).whenPlanned().outcomeOf(20)).toBe("usage_limit");
  });

  it.each(lifted.map(([, expected], i) => [lifted.slice(0, i + 1).map(([k]) => k).join(", "), expected, i] as const))(
    "without %s the task gets %s",
    (_, expected, i) => {
      const o = { ...all };
      for (const [k] of lifted.slice(0, i + 1)) o[k] = false;
      expect(givenNight(night(o)).whenPlanned().outcomeOf(20)).toBe(expected);
    },
  );

  it("gives one decision per queued task and none for a task that is already running", () => {
    const planned = givenNight(night(all)).whenPlanned();
    expect(planned.decisions.map((d) => d.taskId)).toEqual([20]);
  });
});

describe("the dispatch decision", () => {
  it("carries the task's attempt", () => {
    const planned = givenNight({ tasks: [task(20, { attempt: 2 })] }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ kind: "dispatch", attempt: 2 });
  });

  it.each([
    ["code", "gate"],
    ["research", "auto"],
    ["content", "quick"],
    ["translation", "gate"],
  ])("gives a %s task without history the type's default tier %s and no note", (type, tier) => {
    const planned = givenNight({ tasks: [task(20, { type })] }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ tier, note: null });
  });

  it("uses configured type defaults", () => {
    const planned = givenNight({ tasks: [task(20, { type: "code" })], limits: { typeDefaults: { code: "quick" } } }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ tier: "quick", note: null });
  });
});

describe("isolation", () => {
  const agentDefaults = limits({ agentIsolation: { researcher: "worktree", builder: "direct" } });
  const of = (t: Partial<PlanTask>) => isolationOf(task(1, t), agentDefaults);

  it("uses the task's own isolation first, even for code", () => {
    expect(of({ type: "code", isolation: "direct" })).toBe("direct");
  });

  it("gives a code task a worktree over its agent's default", () => {
    expect(of({ type: "code", agent: "builder" })).toBe("worktree");
  });

  it("uses the agent's default for other types", () => {
    expect(of({ type: "research", agent: "researcher" })).toBe("worktree");
  });

  it("falls back to direct", () => {
    expect(of({ type: "research", agent: "writer" })).toBe("direct");
  });

  it("puts the isolation into the dispatch decision", () => {
    const planned = givenNight({ tasks: [task(20, { type: "content", agent: "researcher" })], limits: { agentIsolation: { researcher: "worktree" } } }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ isolation: "worktree" });
  });
});

describe("auto-approval timers", () => {
  it("approves an auto item 18 hours after its result, without a spot-check", () => {
    const planned = givenNight({ tasks: [inReview(30, "auto", plusMinutes(NOW, -18 * 60), { attempt: 2 })] }).whenPlanned();
    expect(planned.of("auto_approve")).toEqual([{ kind: "auto_approve", taskId: 30, attempt: 2, tier: "auto", spotCheck: false }]);
  });

  it("leaves an auto item alone a millisecond before its 18 hours", () => {
    const planned = givenNight({ tasks: [inReview(30, "auto", plusMs(plusMinutes(NOW, -18 * 60), 1))] }).whenPlanned();
    expect(planned.of("auto_approve")).toEqual([]);
  });

  it("approves a quick item after 32 hours and flags it for a spot-check", () => {
    const planned = givenNight({ tasks: [inReview(30, "quick", plusMinutes(NOW, -32 * 60))] }).whenPlanned();
    expect(planned.of("auto_approve")).toEqual([{ kind: "auto_approve", taskId: 30, attempt: 1, tier: "quick", spotCheck: true }]);
  });

  it("leaves a quick item alone after 31 hours 59 minutes", () => {
    const planned = givenNight({ tasks: [inReview(30, "quick", plusMinutes(NOW, -(32 * 60 - 1)))] }).whenPlanned();
    expect(planned.of("auto_approve")).toEqual([]);
  });

  it("never approves a gate item on its own", () => {
    const planned = givenNight({ tasks: [inReview(30, "gate", plusMinutes(NOW, -1000 * 60))] }).whenPlanned();
    expect(planned.of("auto_approve")).toEqual([]);
  });

  it("uses the configured hours", () => {
    const planned = givenNight({
      tasks: [inReview(30, "auto", plusMinutes(NOW, -60)), inReview(31, "quick", plusMinutes(NOW, -119))],
      limits: { autoApproveHours: { auto: 1, quick: 2 } },
    }).whenPlanned();
    expect(planned.of("auto_approve").map((d) => d.taskId)).toEqual([30]);
  });

  it("does not approve a task that was sent back to the queue, whatever its old result time", () => {
    const planned = givenNight({ tasks: [task(30, { dispatchTier: "auto", finishedAt: plusMinutes(NOW, -48 * 60), agent: "writer" })], paused: true }).whenPlanned();
    expect(planned.of("auto_approve")).toEqual([]);
  });
});

describe("lease expiry", () => {
  it("expires a dispatched task no runner claimed before its lease ran out", () => {
    const planned = givenNight({ tasks: [dispatchedTask(15, { leaseUntil: at("03:34"), attempt: 2 })] }).whenPlanned();
    expect(planned.of("lease_expired")).toEqual([{ kind: "lease_expired", taskId: 15, attempt: 2, claimed: false }]);
  });

  it("expires a running task whose heartbeat stopped, as claimed", () => {
    const planned = givenNight({ tasks: [running(15, { leaseUntil: at("03:34") })] }).whenPlanned();
    expect(planned.of("lease_expired")).toEqual([{ kind: "lease_expired", taskId: 15, attempt: 1, claimed: true }]);
  });

  it("expires a lease at the instant it ends", () => {
    const planned = givenNight({ tasks: [running(15, { leaseUntil: NOW })] }).whenPlanned();
    expect(planned.of("lease_expired").map((d) => d.taskId)).toEqual([15]);
  });

  it("keeps a lease that ends a millisecond from now", () => {
    const planned = givenNight({ tasks: [running(15, { leaseUntil: plusMs(NOW, 1) }), task(20)] }).whenPlanned();
    expect(planned.of("lease_expired")).toEqual([]);
    expect(planned.outcomeOf(20)).toBe("agent_busy");
  });

  it("frees the expired task's agent for its next task in the same pass", () => {
    const planned = givenNight({ tasks: [running(15, { leaseUntil: at("03:00") }), task(20)] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("frees the expired task's area in the same pass", () => {
    const planned = givenNight({ tasks: [running(15, { agent: "writer", area: "blog", leaseUntil: at("03:00") }), task(20, { area: "blog" })] }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("frees the expired task's place under the cap in the same pass", () => {
    const planned = givenNight({ tasks: [dispatchedTask(15, { agent: "writer", leaseUntil: at("03:00") }), task(20)], limits: { maxConcurrent: 1 } }).whenPlanned();
    expect(planned.dispatched()).toEqual([20]);
  });

  it("ignores stale leases on tasks that are not dispatched or running", () => {
    const planned = givenNight({ tasks: [task(20, { leaseUntil: at("01:00") }), inReview(21, "gate", at("01:00"), { agent: "w", leaseUntil: at("01:00") })] }).whenPlanned();
    expect(planned.of("lease_expired")).toEqual([]);
  });
});

describe("purity", () => {
  it("plans the same decisions twice from the same input and leaves the input alone", () => {
    const input = planInput({ tasks: [task(21, { priority: 2 }), task(20), running(15, { agent: "w", leaseUntil: at("03:00") })] });
    const before = structuredClone(input.tasks);
    expect(plan(input)).toEqual(plan(input));
    expect(input.tasks).toEqual(before);
  });
});
