// Given / when / then for deciders, after event-driven-io/emmett's DeciderSpecification: given these
// past events, when this command, then these new events — or this error.
import { expect } from "vitest";
import type { CommandMeta, EventEnvelope, NewEvent } from "../../src/domain/events.ts";
import { decideTask, type TaskCommand } from "../../src/domain/task/decide.ts";
import {
  evolveTask,
  type FailureReason,
  type TaskDefinition,
  type TaskEvent,
  type TaskState,
  type Tier,
  type Verdict,
} from "../../src/domain/task/task.ts";
import { taskDefinition } from "../fixtures/task-definition.ts";

export interface Decider<C, S, E extends EventEnvelope> {
  decide(command: C, state: S | null, meta: CommandMeta): NewEvent[];
  evolve(state: S | null, event: E): S;
}

type ErrorClass = abstract new (...args: never[]) => Error;

export interface Then<S> {
  /** The command emits exactly these events. */
  then(expected: NewEvent[]): void;
  /** The command is accepted and changes nothing. */
  thenNothing(): void;
  /** The command is refused with this error class and a message matching `message`. */
  thenThrows(errorClass: ErrorClass, message: RegExp | string): Error;
  /** The state after the given events and the emitted ones (stamped with the command's time). */
  thenState(): S;
}

/** The error `act` throws, checked to be an `errorClass`: a refusal outside a decider. Nothing thrown fails, saying `accepted`. */
export function thrownBy<E extends Error>(act: () => unknown, errorClass: abstract new (...args: never[]) => E, accepted: string): E {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(errorClass);
    return error as E;
  }
  throw new Error(accepted);
}

export const T0 = "2026-11-23T22:00:00.000Z";

/** `T0` plus some minutes, as ISO text: readable offsets in event histories. */
export function minutesAfterStart(minutes: number): string {
  return new Date(Date.parse(T0) + minutes * 60_000).toISOString();
}

export const META: CommandMeta = { at: minutesAfterStart(600), actor: "cli" };

export function specFor<C, S, E extends EventEnvelope>(decider: Decider<C, S, E>) {
  return (history: E[]) => ({
    when(command: C, meta: CommandMeta = META): Then<S> {
      const state = history.reduce<S | null>((s, e) => decider.evolve(s, e), null);
      const run = () => decider.decide(command, state, meta);
      return {
        then: (expected) => expect(run()).toEqual(expected),
        thenNothing: () => expect(run()).toEqual([]),
        thenThrows(errorClass, message) {
          let caught: unknown = undefined;
          try {
            run();
          } catch (error) {
            caught = error;
          }
          expect(caught, "the command should have been refused").toBeInstanceOf(errorClass);
          const error = caught as Error;
          if (typeof message === "string") expect(error.message).toContain(message);
          else expect(error.message).toMatch(message);
          return error;
        },
        thenState() {
          const emitted = run().map((e) => ({ ...e, at: meta.at }) as unknown as E);
          const after = [...history, ...emitted].reduce<S | null>((s, e) => decider.evolve(s, e), null);
          expect(after, "no state after the given and emitted events").not.toBeNull();
          return after as S;
        },
      };
    },
  });
}

export const givenTask = specFor<TaskCommand, TaskState, TaskEvent>({
  decide: (command, state, meta) => decideTask(command, state, meta),
  evolve: evolveTask,
});

// Event builders: the smallest histories that read like the task's story.

/** Task #7, code for the site; the fields not named here are taskDefinition's defaults. */
export function definition(overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return taskDefinition(7, { title: "Blog engine: MDX pipeline", description: "Render MDX posts", type: "code", project: "site", ...overrides });
}

export function queued(overrides: Partial<TaskDefinition> = {}, at = T0): TaskEvent {
  return { type: "TaskQueued", data: definition(overrides), at };
}

export function dispatched(attempt = 1, at = minutesAfterStart(attempt * 10), tier: Tier = "gate"): TaskEvent {
  return {
    type: "TaskDispatched",
    data: { attempt, runner: null, leaseUntil: minutesAfterStart(attempt * 10 + 5), tier, isolation: "worktree", promptHash: `hash-${attempt}` },
    at,
  };
}

export function started(attempt = 1, runner = "local", at = minutesAfterStart(attempt * 10 + 1)): TaskEvent {
  return { type: "TaskStarted", data: { attempt, runner }, at };
}

export function resultReported(attempt = 1, summary = `done on attempt ${attempt}`, at = minutesAfterStart(attempt * 10 + 2)): TaskEvent {
  return {
    type: "TaskResultReported",
    data: { attempt, exitCode: 0, durationMs: 60_000, summary, handoff: null, whatWorked: null, reusablePattern: null, diffStat: null },
    at,
  };
}

export function failed(
  attempt: number,
  options: { reason?: FailureReason; final?: boolean; retryAt?: string | null; attemptSpent?: boolean; detail?: string } = {},
  at = minutesAfterStart(attempt * 10 + 3),
): TaskEvent {
  const reason = options.reason ?? "exit_code";
  return {
    type: "TaskFailed",
    data: {
      attempt,
      reason,
      detail: options.detail ?? "exit code 1",
      final: options.final ?? false,
      retryAt: options.retryAt ?? null,
      attemptSpent: options.attemptSpent ?? reason !== "usage_limit",
    },
    at,
  };
}

export function verdict(kind: Verdict, attempt = 1, notes: string | null = null, by = "user:telegram:1", at = minutesAfterStart(attempt * 10 + 4)): TaskEvent {
  return { type: "VerdictRecorded", data: { verdict: kind, notes, by, attempt }, at };
}

export function cancelled(reason: string | null = null, by = "cli", at = minutesAfterStart(5)): TaskEvent {
  return { type: "TaskCancelled", data: { reason, by }, at };
}

const reviewHistory = (): TaskEvent[] => [queued(), dispatched(1), started(1), resultReported(1)];

/** Histories that leave the task (id 7, attempt 1) in each status. */
export const historyIn: Record<TaskState["status"], () => TaskEvent[]> = {
  queued: () => [queued()],
  dispatched: () => [queued(), dispatched(1)],
  running: () => [queued(), dispatched(1), started(1)],
  review: reviewHistory,
  approved: () => [...reviewHistory(), verdict("approved", 1)],
  discarded: () => [...reviewHistory(), verdict("discarded", 1)],
  cancelled: () => [queued(), cancelled()],
  failed: () => [queued(), dispatched(1), started(1), failed(1, { final: true })],
};
