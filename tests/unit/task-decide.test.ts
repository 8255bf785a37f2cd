import { describe, expect, it } from "vitest";
import type { CommandMeta } from "../../src/domain/events.ts";
import { decideTask, type TaskCommand } from "../../src/domain/task/decide.ts";
import { OPEN_STATUSES, TERMINAL_STATUSES, evolveTask, type FailureReason, type TaskEvent, type TaskState, type Verdict } from "../../src/domain/task/task.ts";
import { IllegalStateError, ValidationError } from "../../src/shared/errors.ts";
import { META, definition, dispatched, failed, givenTask, historyIn, minutesAfterStart, queued, resultReported, started, verdict } from "./given.ts";

const sections = { summary: "Built the MDX pipeline", handoff: "Use renderMdx()", whatWorked: null, reusablePattern: null };

const queueTask = (overrides = {}, known: number[] = []): TaskCommand => ({
  type: "QueueTask",
  data: definition(overrides),
  graph: new Map(known.map((id) => [id, []])),
});
const dispatch = (): TaskCommand => ({
  type: "DispatchTask",
  data: { runner: "local", leaseUntil: minutesAfterStart(700), tier: "quick", isolation: "direct", promptHash: "abc" },
});
const start = (attempt = 1): TaskCommand => ({ type: "StartTask", data: { attempt, runner: "local" } });
const report = (attempt: number | null = 1, exitCode = 0, maxAttempts = 2): TaskCommand => ({
  type: "ReportResult",
  data: { attempt, exitCode, durationMs: 1234, sections, diffStat: { files: 2, insertions: 10, deletions: 1 }, maxAttempts },
});
const fail = (attempt: number, reason: FailureReason = "timeout", maxAttempts = 2, retryAt: string | null = null): TaskCommand => ({
  type: "ReportFailure",
  data: { attempt, reason, detail: `${reason} detail`, maxAttempts, retryAt },
});
const decideVerdict = (kind: Verdict, notes: string | null = null, attempt: number | null = null): TaskCommand => ({
  type: "RecordVerdict",
  data: { verdict: kind, notes, attempt },
});
const cancel = (reason: string | null = "not needed"): TaskCommand => ({ type: "CancelTask", data: { reason } });

/** Runs commands one after another through decide and evolve, as the command layer does. */
function live(commands: TaskCommand[]): TaskState {
  let state: TaskState | null = null;
  commands.forEach((command, i) => {
    const meta: CommandMeta = { at: minutesAfterStart(i), actor: "cli" };
    for (const event of decideTask(command, state, meta)) state = evolveTask(state, { ...event, at: meta.at } as never);
  });
  if (!state) throw new Error("no task");
  return state;
}

describe("queueing a task", () => {
  it("queues a new task with its definition", () => {
    givenTask([]).when(queueTask({ blockedBy: [3] }, [3])).then([{ type: "TaskQueued", data: definition({ blockedBy: [3] }) }]);
  });

  it("starts a queued task on attempt 1 with its tier pin kept apart from the dispatch tier", () => {
    const state = givenTask([]).when(queueTask({ tier: "auto" })).thenState();
    expect(state).toMatchObject({ id: 7, status: "queued", attempt: 1, tierPin: "auto", dispatchTier: null, createdAt: META.at });
  });

  it("drops repeated blockers", () => {
    givenTask([]).when(queueTask({ blockedBy: [3, 4, 3] }, [3, 4])).then([{ type: "TaskQueued", data: definition({ blockedBy: [3, 4] }) }]);
  });

  it("refuses a task id that already exists", () => {
    givenTask(historyIn.queued()).when(queueTask()).thenThrows(IllegalStateError, "task #7 already exists");
  });

  it.each([
    ["an empty title", { title: "" }, "a task needs a title"],
    ["a blank title", { title: "   " }, "a task needs a title"],
    ["a title over 200 characters", { title: "x".repeat(201) }, "longer than 200"],
    ["a description over 100,000 characters", { description: "x".repeat(100_001) }, "description is longer than 100000"],
    ["a fractional priority", { priority: 1.5 }, "priority must be a whole number, got 1.5"],
    ["a NaN priority", { priority: Number.NaN }, "priority must be a whole number"],
  ])("refuses %s", (_, overrides, message) => {
    givenTask([]).when(queueTask(overrides)).thenThrows(ValidationError, message);
  });

  it("accepts a title of exactly 200 characters", () => {
    expect(givenTask([]).when(queueTask({ title: "x".repeat(200) })).thenState().title).toHaveLength(200);
  });

  it("refuses an unknown blocker", () => {
    givenTask([]).when(queueTask({ blockedBy: [3, 99] }, [3])).thenThrows(ValidationError, "unknown blocker #99");
  });

  it("refuses a task that waits for itself", () => {
    givenTask([]).when(queueTask({ blockedBy: [7] }, [7])).thenThrows(ValidationError, "task #7 cannot wait for itself");
  });

  it("refuses any other command for a task that does not exist", () => {
    givenTask([]).when(cancel()).thenThrows(IllegalStateError, "no such task");
  });
});

describe("dispatching and starting", () => {
  it("dispatches a queued task on its current attempt", () => {
    givenTask(historyIn.queued())
      .when(dispatch())
      .then([
        {
          type: "TaskDispatched",
          data: { attempt: 1, runner: "local", leaseUntil: minutesAfterStart(700), tier: "quick", isolation: "direct", promptHash: "abc" },
        },
      ]);
  });

  it("fixes the tier, lease and runner in the state at dispatch", () => {
    const state = givenTask(historyIn.queued()).when(dispatch()).thenState();
    expect(state).toMatchObject({ status: "dispatched", dispatchTier: "quick", tierPin: null, runner: "local", dispatchedAt: META.at, promptHash: "abc" });
  });

  it.each(["dispatched", "running", "review", ...TERMINAL_STATUSES] as const)("refuses to dispatch a %s task", (status) => {
    givenTask(historyIn[status]())
      .when(dispatch())
      .thenThrows(IllegalStateError, `task #7 is ${status}; only a queued task can be dispatched`);
  });

  it("starts a dispatched task", () => {
    givenTask(historyIn.dispatched()).when(start(1)).then([{ type: "TaskStarted", data: { attempt: 1, runner: "local" } }]);
    expect(givenTask(historyIn.dispatched()).when(start(1)).thenState().status).toBe("running");
  });

  it("refuses to start a task twice", () => {
    givenTask(historyIn.running()).when(start(1)).thenThrows(IllegalStateError, "task #7 is running; only a dispatched task can start");
  });

  it("refuses to start a queued task", () => {
    givenTask(historyIn.queued()).when(start(1)).thenThrows(IllegalStateError, "only a dispatched task can start");
  });

  it("refuses a start report for an earlier attempt", () => {
    givenTask([...historyIn.running(), failed(1), dispatched(2)])
      .when(start(1))
      .thenThrows(IllegalStateError, "task #7: report for attempt 1 refused; the task is on attempt 2");
  });
});

describe("reporting a result", () => {
  it.each(["dispatched", "running"] as const)("puts a %s task in review with its sections", (status) => {
    givenTask(historyIn[status]())
      .when(report(1))
      .then([
        {
          type: "TaskResultReported",
          data: { attempt: 1, exitCode: 0, durationMs: 1234, ...sections, diffStat: { files: 2, insertions: 10, deletions: 1 } },
        },
      ]);
  });

  it("keeps the result and the finish time in the state", () => {
    const state = givenTask(historyIn.running()).when(report(1)).thenState();
    expect(state).toMatchObject({ status: "review", finishedAt: META.at, leaseUntil: null, failure: null });
    expect(state.result).toMatchObject({ attempt: 1, summary: "Built the MDX pipeline", handoff: "Use renderMdx()", at: META.at });
  });

  it("takes the current attempt when the report names none", () => {
    const events = givenTask([...historyIn.review(), verdict("sent_back", 1), dispatched(2)]).when(report(null)).thenState();
    expect(events.result?.attempt).toBe(2);
  });

  it("refuses a result for a task that was never dispatched, and says so", () => {
    givenTask(historyIn.queued())
      .when(report(1))
      .thenThrows(IllegalStateError, /task #7 is queued and was never dispatched; a result can be recorded only for a dispatched or running task/);
  });

  it("refuses a result for a task queued again after a failed run", () => {
    givenTask([...historyIn.running(), failed(1)])
      .when(report(2))
      .thenThrows(IllegalStateError, "task #7 is queued, not dispatched or running; a result can be recorded only while it runs");
  });

  it("refuses a second result for a task already in review", () => {
    givenTask(historyIn.review()).when(report(1)).thenThrows(IllegalStateError, "task #7 is review, not dispatched or running");
  });

  it("refuses a late result from an earlier attempt", () => {
    givenTask([...historyIn.running(), failed(1), dispatched(2), started(2)])
      .when(report(1))
      .thenThrows(IllegalStateError, "report for attempt 1 refused; the task is on attempt 2");
  });

  it("treats a non-zero exit code as a failed attempt that goes back to the queue", () => {
    givenTask(historyIn.running())
      .when(report(1, 3))
      .then([
        { type: "TaskFailed", data: { attempt: 1, reason: "exit_code", detail: "exit code 3", final: false, retryAt: null, attemptSpent: true } },
      ]);
  });

  it("fails the task for good when a non-zero exit uses its last attempt", () => {
    const state = givenTask([...historyIn.running(), failed(1), dispatched(2), started(2)]).when(report(2, 1)).thenState();
    expect(state).toMatchObject({ status: "failed", attempt: 2, failure: { reason: "exit_code", detail: "exit code 1", attempt: 2 } });
  });
});

describe("failed runs", () => {
  it.each(["dispatched", "running"] as const)("queues a %s task again with attempt + 1 after a failure", (status) => {
    givenTask(historyIn[status]())
      .when(fail(1, "timeout"))
      .then([
        { type: "TaskFailed", data: { attempt: 1, reason: "timeout", detail: "timeout detail", final: false, retryAt: null, attemptSpent: true } },
      ]);
    const state = givenTask(historyIn[status]()).when(fail(1, "lease_lost")).thenState();
    expect(state).toMatchObject({ status: "queued", attempt: 2, runner: null, leaseUntil: null, failure: { reason: "lease_lost", attempt: 1 } });
  });

  it("keeps queueing again until maxAttempts, then fails", () => {
    const history = [queued(), dispatched(1), failed(1), dispatched(2), failed(2), dispatched(3), started(3)];
    const state = givenTask(history).when(fail(3, "timeout", 3)).thenState();
    expect(state.status).toBe("failed");
    expect(givenTask(history).when(fail(3, "timeout", 4)).thenState()).toMatchObject({ status: "queued", attempt: 4 });
  });

  it("fails at once when maxAttempts is 1", () => {
    givenTask(historyIn.running())
      .when(fail(1, "exit_code", 1))
      .then([{ type: "TaskFailed", data: { attempt: 1, reason: "exit_code", detail: "exit_code detail", final: true, retryAt: null, attemptSpent: true } }]);
  });

  it("does not spend an attempt on a usage limit, and waits for the reset", () => {
    const reset = minutesAfterStart(900);
    const history = [queued(), dispatched(1), failed(1), dispatched(2), started(2)];
    givenTask(history)
      .when(fail(2, "usage_limit", 2, reset))
      .then([{ type: "TaskFailed", data: { attempt: 2, reason: "usage_limit", detail: "usage_limit detail", final: false, retryAt: reset, attemptSpent: false } }]);
    expect(givenTask(history).when(fail(2, "usage_limit", 2, reset)).thenState()).toMatchObject({ status: "queued", attempt: 2, notBefore: reset });
  });

  it("never waits for a reset at or before now: it backs off 1, 2, 4 … 30 minutes while the limit persists", () => {
    const now = META.at;
    const limited = (times: number) => {
      const history: TaskEvent[] = [queued()];
      for (let i = 0; i < times; i++) history.push(dispatched(1, minutesAfterStart(10 + i)), failed(1, { reason: "usage_limit", retryAt: minutesAfterStart(11 + i) }, minutesAfterStart(11 + i)));
      return [...history, dispatched(1, minutesAfterStart(100)), started(1, "local", minutesAfterStart(101))];
    };
    const retryAfter = (times: number, reported: string | null) => {
      const state = givenTask(limited(times)).when(fail(1, "usage_limit", 2, reported)).thenState();
      expect(state).toMatchObject({ status: "queued", attempt: 1, limitStreak: times + 1 });
      return (Date.parse(state.notBefore!) - Date.parse(now)) / 60_000;
    };
    expect(retryAfter(0, now)).toBe(1);
    expect(retryAfter(0, minutesAfterStart(599))).toBe(1);
    expect(retryAfter(0, null)).toBe(1);
    expect([1, 2, 3, 4, 5, 6, 9].map((n) => retryAfter(n, null))).toEqual([2, 4, 8, 16, 30, 30, 30]);
    // A reset still ahead is used as the CLI named it, however many limits came before.
    expect(retryAfter(4, minutesAfterStart(605))).toBe(5);
  });

  it("does not spend an attempt when no runner claimed the task", () => {
    const state = givenTask([...historyIn.dispatched()]).when(fail(1, "claim_timeout", 1)).thenState();
    expect(state).toMatchObject({ status: "queued", attempt: 1, failure: { reason: "claim_timeout" } });
  });

  it("clears the wait for a usage-limit reset at the next dispatch, on the same attempt", () => {
    const reset = minutesAfterStart(900);
    const state = givenTask([...historyIn.running(), failed(1, { reason: "usage_limit", retryAt: reset })]).when(dispatch()).thenState();
    expect(state).toMatchObject({ status: "dispatched", attempt: 1, notBefore: null });
  });

  it.each(["queued", "review", ...TERMINAL_STATUSES] as const)("refuses a failure report for a %s task", (status) => {
    givenTask(historyIn[status]())
      .when(fail(1))
      .thenThrows(IllegalStateError, `task #7 is ${status}; only a dispatched or running task can fail`);
  });

  it("refuses a failure report for an earlier attempt", () => {
    givenTask([...historyIn.running(), failed(1), dispatched(2)])
      .when(fail(1))
      .thenThrows(IllegalStateError, "report for attempt 1 refused; the task is on attempt 2");
  });
});

describe("verdicts", () => {
  it("approves a task in review, recording who decided", () => {
    givenTask(historyIn.review())
      .when(decideVerdict("approved"), { at: META.at, actor: "user:telegram:42" })
      .then([{ type: "VerdictRecorded", data: { verdict: "approved", notes: null, by: "user:telegram:42", attempt: 1 } }]);
    expect(givenTask(historyIn.review()).when(decideVerdict("approved")).thenState().status).toBe("approved");
  });

  it("discards a task in review", () => {
    expect(givenTask(historyIn.review()).when(decideVerdict("discarded", "wrong approach")).thenState()).toMatchObject({
      status: "discarded",
      verdicts: [{ verdict: "discarded", notes: "wrong approach", by: "cli", attempt: 1, at: META.at }],
    });
  });

  it("sends a task back to the queue with attempt + 1, keeping the notes and the previous result as feedback", () => {
    const state = givenTask(historyIn.review()).when(decideVerdict("sent_back", "add tests")).thenState();
    expect(state).toMatchObject({ status: "queued", attempt: 2 });
    expect(state.feedback).toEqual({ notes: "add tests", attempt: 1, result: expect.objectContaining({ attempt: 1, summary: "done on attempt 1" }) });
  });

  it("keeps only the latest send-back as feedback", () => {
    const history = [...historyIn.review(), verdict("sent_back", 1, "first"), dispatched(2), resultReported(2)];
    const state = givenTask(history).when(decideVerdict("sent_back", "second")).thenState();
    expect(state).toMatchObject({ attempt: 3, feedback: { notes: "second", attempt: 2, result: { summary: "done on attempt 2" } } });
  });

  it("accepts a verdict from a card for the current attempt", () => {
    givenTask([...historyIn.review(), verdict("sent_back", 1), dispatched(2), resultReported(2)])
      .when(decideVerdict("approved", null, 2))
      .then([{ type: "VerdictRecorded", data: { verdict: "approved", notes: null, by: "cli", attempt: 2 } }]);
  });

  it("refuses a verdict from a stale card for an earlier attempt", () => {
    givenTask([...historyIn.review(), verdict("sent_back", 1), dispatched(2), resultReported(2)])
      .when(decideVerdict("approved", null, 1))
      .thenThrows(IllegalStateError, "task #7: that card is for attempt 1, the task is on attempt 2; already decided");
  });

  it.each(["queued", "dispatched", "running"] as const)("refuses a verdict on a %s task: wait for its result", (status) => {
    givenTask(historyIn[status]()).when(decideVerdict("approved")).thenThrows(IllegalStateError, `task #7 is ${status}, not in review; wait for its result`);
  });

  it.each(["approved", "discarded"] as const)("refuses a second verdict on a %s task: already decided", (status) => {
    givenTask(historyIn[status]()).when(decideVerdict("sent_back")).thenThrows(IllegalStateError, `task #7 is ${status}, not in review; it was already decided`);
  });

  it("refuses notes over 100,000 characters", () => {
    givenTask(historyIn.review()).when(decideVerdict("sent_back", "x".repeat(100_001))).thenThrows(ValidationError, "notes are longer");
  });
});

describe("auto-approval", () => {
  const autoApprove = (attempt = 1): TaskCommand => ({ type: "AutoApprove", data: { attempt, tier: "quick", spotCheck: true } });

  it("approves a task in review when its tier timer ran out", () => {
    givenTask(historyIn.review()).when(autoApprove()).then([{ type: "TaskAutoApproved", data: { attempt: 1, tier: "quick", spotCheck: true } }]);
    expect(givenTask(historyIn.review()).when(autoApprove()).thenState()).toMatchObject({
      status: "approved",
      autoApproved: { tier: "quick", spotCheck: true, at: META.at },
    });
  });

  it("refuses to auto-approve a task a person already decided", () => {
    givenTask(historyIn.approved()).when(autoApprove()).thenThrows(IllegalStateError, "task #7 is approved, not in review");
  });

  it("refuses to auto-approve an earlier attempt", () => {
    givenTask([...historyIn.review(), verdict("sent_back", 1), dispatched(2), resultReported(2)])
      .when(autoApprove(1))
      .thenThrows(IllegalStateError, "report for attempt 1 refused");
  });
});

describe("cancelling", () => {
  it.each(OPEN_STATUSES)("cancels a %s task", (status) => {
    givenTask(historyIn[status]())
      .when(cancel("changed my mind"), { at: META.at, actor: "user:slack:U1" })
      .then([{ type: "TaskCancelled", data: { reason: "changed my mind", by: "user:slack:U1" } }]);
    expect(givenTask(historyIn[status]()).when(cancel()).thenState()).toMatchObject({ status: "cancelled", cancelReason: "not needed", leaseUntil: null });
  });

  it.each(TERMINAL_STATUSES)("refuses to cancel a %s task", (status) => {
    givenTask(historyIn[status]()).when(cancel()).thenThrows(IllegalStateError, `task #7 is already ${status}; there is nothing to cancel`);
  });
});

describe("activity notes", () => {
  it("notes trimmed text", () => {
    givenTask(historyIn.queued())
      .when({ type: "NoteActivity", data: { text: "  Trust-based tier gate → quick  " } })
      .then([{ type: "ActivityNoted", data: { text: "Trust-based tier gate → quick" } }]);
  });

  it("refuses an empty note", () => {
    givenTask(historyIn.queued()).when({ type: "NoteActivity", data: { text: " \n " } }).thenThrows(ValidationError, "needs some text");
  });
});

describe("a task's whole life through decide and evolve", () => {
  it("runs queued → dispatched → running → review → sent back → … → approved", () => {
    const state = live([queueTask(), dispatch(), start(1), report(1), decideVerdict("sent_back", "tighten it"), dispatch(), start(2), report(2), decideVerdict("approved", null, 2)]);
    expect(state).toMatchObject({ status: "approved", attempt: 2, feedback: { notes: "tighten it", attempt: 1 } });
    expect(state.verdicts.map((v) => `${v.verdict}@${v.attempt}`)).toEqual(["sent_back@1", "approved@2"]);
  });

  it("runs two failures into a final failure with the default of two attempts", () => {
    const state = live([queueTask(), dispatch(), start(1), fail(1, "timeout"), dispatch(), start(2), report(2, 9)]);
    expect(state).toMatchObject({ status: "failed", attempt: 2, failure: { reason: "exit_code", attempt: 2 } });
  });
});
