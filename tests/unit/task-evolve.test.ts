import { describe, expect, it } from "vitest";
import { evolveTask, foldTask, describeVerdict, taskStream, type TaskEvent } from "../../src/domain/task/task.ts";
import { T0, cancelled, dispatched, failed, historyIn, minutesAfterStart, queued, resultReported, started, verdict } from "./given.ts";

const lastActivity = (events: TaskEvent[]) => foldTask(events)!.activity.at(-1);
const at = minutesAfterStart(99);

describe("activity lines", () => {
  it("starts with 'queued' at the time the task was queued", () => {
    expect(foldTask([queued()])!.activity).toEqual([{ at: T0, text: "queued" }]);
  });

  it.each<[string, TaskEvent, string]>([
    [
      "every edited field",
      { type: "TaskEdited", data: { changes: { blockedBy: [1, 2], priority: 5, area: "blog", agent: "writer", tier: "gate" } }, at },
      "edited: after #1, #2, priority 5, area blog, agent writer, tier pin gate",
    ],
    ["blockers cleared", { type: "TaskEdited", data: { changes: { blockedBy: [] } }, at }, "edited: after nothing"],
    ["area and pin cleared", { type: "TaskEdited", data: { changes: { area: null, tier: null } }, at }, "edited: area none, tier pin none"],
    ["a cancel with a reason", cancelled("duplicate of #3", "user:telegram:1", at), "cancelled by user:telegram:1: duplicate of #3"],
    ["a cancel without a reason", cancelled(null, "cli", at), "cancelled by cli"],
    ["a dispatch", dispatched(1, at, "quick"), "dispatched: attempt 1, tier quick, worktree"],
    ["a note", { type: "ActivityNoted", data: { text: "Trust-based tier gate → quick (approval: 93%, sendBack: 0%, n=15)" }, at }, "Trust-based tier gate → quick (approval: 93%, sendBack: 0%, n=15)"],
  ])("describes %s", (_, event, text) => {
    expect(lastActivity([queued(), event])).toEqual({ at, text });
  });

  it.each<[string, TaskEvent[], string]>([
    ["a start", [queued(), dispatched(1), started(1, "runner-a")], "started on runner-a"],
    ["a result", historyIn.review(), "result reported (attempt 1, exit 0)"],
    [
      "a failure with attempts left",
      [queued(), dispatched(1), failed(1, { detail: "exit code 3" })],
      "failed (attempt 1): exit code 3; queued again for attempt 2",
    ],
    [
      "a usage limit with its reset time",
      [queued(), dispatched(1), failed(1, { reason: "usage_limit", detail: "usage limit: You've hit your limit · resets 3:39am (UTC)", retryAt: "2026-11-24T03:40:15.000Z" })],
      "usage limit: You've hit your limit · resets 3:39am (UTC); attempt 1 not spent, tried again after 2026-11-24T03:40:15.000Z",
    ],
    [
      "a final failure",
      [queued(), dispatched(1), failed(1, { detail: "timeout after 60 min", final: true })],
      "failed (attempt 1): timeout after 60 min; no attempts left",
    ],
    ["an approval", [...historyIn.review(), verdict("approved", 1, null, "cli")], "approved by cli"],
    ["a send-back with notes", [...historyIn.review(), verdict("sent_back", 1, "add tests", "user:slack:U1")], "sent back by user:slack:U1: add tests"],
    ["a discard", [...historyIn.review(), verdict("discarded", 1, "not needed")], "discarded by user:telegram:1: not needed"],
    [
      "an auto-approval flagged for spot-check",
      [...historyIn.review(), { type: "TaskAutoApproved", data: { attempt: 1, tier: "quick", spotCheck: true }, at }],
      "auto-approved (tier quick), flagged for spot-check",
    ],
    [
      "an auto-approval without spot-check",
      [...historyIn.review(), { type: "TaskAutoApproved", data: { attempt: 1, tier: "auto", spotCheck: false }, at }],
      "auto-approved (tier auto)",
    ],
  ])("describes %s", (_, events, text) => {
    expect(lastActivity(events)?.text).toBe(text);
  });

  it("keeps one line per event, in order", () => {
    const state = foldTask([...historyIn.review(), verdict("approved", 1)])!;
    expect(state.activity.map((a) => a.text)).toEqual([
      "queued",
      "dispatched: attempt 1, tier gate, worktree",
      "started on local",
      "result reported (attempt 1, exit 0)",
      "approved by user:telegram:1",
    ]);
  });
});

describe("evolving the state", () => {
  it("moves updatedAt with every event and keeps createdAt", () => {
    const state = foldTask([queued(), dispatched(1, minutesAfterStart(10)), started(1, "local", minutesAfterStart(11))])!;
    expect(state).toMatchObject({ createdAt: T0, updatedAt: minutesAfterStart(11), dispatchedAt: minutesAfterStart(10) });
  });

  it("does not change the state it was given", () => {
    const before = foldTask(historyIn.review())!;
    const snapshot = structuredClone(before);
    evolveTask(before, verdict("sent_back", 1, "again"));
    expect(before).toEqual(snapshot);
  });

  it("clears the failure once a later attempt reports a result", () => {
    const state = foldTask([queued(), dispatched(1), failed(1), dispatched(2), resultReported(2)])!;
    expect(state).toMatchObject({ status: "review", attempt: 2, failure: null });
  });

  it("refuses an event before the task was queued", () => {
    expect(() => evolveTask(null, started(1))).toThrow("TaskStarted before TaskQueued");
  });

  it("folds no events into no task", () => {
    expect(foldTask([])).toBeNull();
  });
});

describe("the run history", () => {
  it("records each dispatch as a run, with when it started and how it ended", () => {
    const state = foldTask([queued(), dispatched(1), started(1, "runner-a"), failed(1), dispatched(2), started(2, "runner-b"), resultReported(2)])!;
    expect(state.runs).toEqual([
      { attempt: 1, dispatchedAt: minutesAfterStart(10), runner: "runner-a", tier: "gate", startedAt: minutesAfterStart(11), finishedAt: minutesAfterStart(13), outcome: "failed", costUsd: null },
      { attempt: 2, dispatchedAt: minutesAfterStart(20), runner: "runner-b", tier: "gate", startedAt: minutesAfterStart(21), finishedAt: minutesAfterStart(22), outcome: "result", costUsd: null },
    ]);
  });

  it("ends an open run as cancelled when the task is cancelled while it runs", () => {
    const state = foldTask([queued(), dispatched(1), started(1), cancelled(null, "cli", at)])!;
    expect(state.runs.map((r) => [r.outcome, r.finishedAt])).toEqual([["cancelled", at]]);
  });

  it("leaves a finished run alone when a queued task is cancelled", () => {
    const state = foldTask([queued(), dispatched(1), failed(1), cancelled(null, "cli", at)])!;
    expect(state.runs.map((r) => r.outcome)).toEqual(["failed"]);
  });
});

describe("names", () => {
  it("names a task's stream by its id", () => {
    expect(taskStream(42)).toBe("task-42");
  });

  it("describes a send-back in words", () => {
    expect([describeVerdict("approved"), describeVerdict("sent_back"), describeVerdict("discarded")]).toEqual(["approved", "sent back", "discarded"]);
  });
});

describe("the state each event starts from", () => {
  // evolveTask copies the state field by field (copyTaskState); these pin down that nothing is lost.
  const life = (first: TaskEvent): TaskEvent[] => [
    first,
    { type: "TaskEdited", data: { changes: { priority: 3 } }, at },
    dispatched(1),
    started(1, "runner-a"),
    { type: "ActivityNoted", data: { text: "halfway" }, at },
    resultReported(1),
    verdict("sent_back", 1, "again"),
    dispatched(2),
    resultReported(2),
    verdict("approved", 2, null),
  ];

  it("keeps a task's skills, origin and notes through every later event", () => {
    const states: ReturnType<typeof foldTask>[] = [];
    let state: ReturnType<typeof foldTask> = null;
    for (const event of life(queued({ skills: ["seo"], createdBy: { taskId: 7, attempt: 1, generation: 1 } }))) {
      state = evolveTask(state, event);
      states.push(state);
    }
    for (const s of states) expect(s).toMatchObject({ skills: ["seo"], createdBy: { taskId: 7, attempt: 1, generation: 1 } });
    expect(states.at(-1)!.notes).toEqual(["halfway"]);
    expect(states.at(-1)!.status).toBe("approved");
  });

  it("keeps a field that a later version of TaskQueued carries, which this version does not know", () => {
    const first = queued();
    (first.data as unknown as Record<string, unknown>).estimateMinutes = 45;
    const final = foldTask(life(first))! as unknown as Record<string, unknown>;
    expect(final.estimateMinutes).toBe(45);
    expect(final.status).toBe("approved");
  });

  it("leaves the state it was given as it was", () => {
    const events = life(queued({ skills: ["seo"] }));
    const before = foldTask(events.slice(0, 5))!;
    const frozen = JSON.stringify(before);
    evolveTask(before, events[5]!);
    expect(JSON.stringify(before)).toBe(frozen);
  });
});

describe("a usage limit", () => {
  const limit = (n: number, at: string) =>
    failed(1, { reason: "usage_limit", detail: "usage limit: You've hit your limit", retryAt: minutesAfterStart(200 + n) }, at);

  it("is one activity line per re-queue: the run's dispatch and start lines give way to it, an agent's note stays", () => {
    const events: TaskEvent[] = [queued()];
    for (let n = 0; n < 3; n++) {
      events.push(dispatched(1, minutesAfterStart(10 + n * 10)), started(1, "local", minutesAfterStart(11 + n * 10)));
      if (n === 1) events.push({ type: "ActivityNoted", data: { text: "builder: looking at the repo" }, at: minutesAfterStart(12 + n * 10) });
      events.push(limit(n, minutesAfterStart(13 + n * 10)));
    }
    expect(foldTask(events)!.activity.map((a) => a.text)).toEqual([
      "queued",
      `usage limit: You've hit your limit; attempt 1 not spent, tried again after ${minutesAfterStart(200)}`,
      "builder: looking at the repo",
      `usage limit: You've hit your limit; attempt 1 not spent, tried again after ${minutesAfterStart(201)}`,
      `usage limit: You've hit your limit; attempt 1 not spent, tried again after ${minutesAfterStart(202)}`,
    ]);
  });

  it("counts the limits in a row until a result or another failure", () => {
    const twice = [queued(), dispatched(1), limit(0, minutesAfterStart(12)), dispatched(1, minutesAfterStart(20)), limit(1, minutesAfterStart(22))];
    expect(foldTask(twice)!).toMatchObject({ limitStreak: 2, attempt: 1, status: "queued", notBefore: minutesAfterStart(201) });
    expect(foldTask([...twice, dispatched(1, minutesAfterStart(30)), resultReported(1, "done", minutesAfterStart(32))])!.limitStreak).toBe(0);
    expect(foldTask([...twice, dispatched(1, minutesAfterStart(30)), failed(1, {}, minutesAfterStart(32))])!.limitStreak).toBe(0);
    // An unclaimed dispatch says nothing about the limit.
    expect(foldTask([...twice, dispatched(1, minutesAfterStart(30)), failed(1, { reason: "claim_timeout" }, minutesAfterStart(32))])!.limitStreak).toBe(2);
  });
});
