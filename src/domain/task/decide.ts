import { IllegalStateError, ValidationError } from "../../shared/errors.ts";
import { assertNever, type CommandMeta, type NewEvent } from "../events.ts";
import { checkTitleText } from "../title.ts";
import { checksFailed, failedChecks, failingOutputNotes, type CheckRecord, type OnFailedChecks } from "./checks.ts";
import { checkBlockers, type BlockerGraph } from "./dependencies.ts";
import type { ReviewFlag } from "./flags.ts";
import { usageLimitRetryAt } from "./usage-limit.ts";
import {
  OPEN_STATUSES,
  type AgentCli,
  type DiffStat,
  type FailureOutput,
  type RunStopped,
  type FailureReason,
  type Isolation,
  type ResultSections,
  type TaskDefinition,
  type TaskEdit,
  type TaskEvent,
  type TaskState,
  type Tier,
  type Usage,
  type Verdict,
} from "./task.ts";

export type TaskCommand =
  | { type: "QueueTask"; data: TaskDefinition; graph: BlockerGraph }
  | { type: "EditTask"; data: TaskEdit; graph: BlockerGraph }
  | { type: "CancelTask"; data: { reason: string | null } }
  | {
      type: "DispatchTask";
      data: { runner: string | null; leaseUntil: string; tier: Tier; isolation: Isolation; promptHash: string };
    }
  | { type: "StartTask"; data: { attempt: number; runner: string; leaseUntil?: string; promptHash?: string } }
  | {
      type: "ReportResult";
      data: {
        attempt: number | null;
        exitCode: number;
        durationMs: number | null;
        sections: ResultSections;
        diffStat: DiffStat | null;
        usage?: Usage | null;
        cli?: AgentCli | null;
        /** The project's checks on this result; absent when it has none (or the result was recorded by hand). */
        checks?: CheckRecord[] | null;
        flags?: ReviewFlag[];
        /** `review.onFailedChecks`: what a failed check does (default: the task goes to review). */
        onFailedChecks?: OnFailedChecks;
        maxAttempts: number;
        /** What the run printed last and where its log is, for the failure a non-zero exit code makes. */
        output?: FailureOutput;
      };
    }
  | {
      type: "ReportFailure";
      /** `retryAt`: for a usage limit, the reset the agent's CLI named (or null); the task decides when it retries. */
      data: { attempt: number; reason: FailureReason; detail: string; maxAttempts: number; retryAt: string | null; output?: FailureOutput };
    }
  | { type: "RecordRunStopped"; data: RunStopped }
  | { type: "RecordVerdict"; data: { verdict: Verdict; notes: string | null; attempt: number | null } }
  | { type: "AutoApprove"; data: { attempt: number; tier: Tier; spotCheck: boolean } }
  | { type: "NoteActivity"; data: { text: string } }
  | { type: "RetryTask" }
  | { type: "RecordMerge"; data: { branch: string; into: string; commit: string } }
  | { type: "RecordMergeConflict"; data: { branch: string; into: string; files: string[]; message: string } }
  | { type: "RecordWorktreeRemoved"; data: { path: string; keptRef: string | null } };

type Emitted = NewEvent<TaskEvent["type"], TaskEvent["data"]>;

const MAX_TITLE = 200;
const MAX_TEXT = 100_000;
/** A skill is a folder name under the skills folder: no path separators, nothing hidden. */
export const SKILL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** An agent-created task may itself create tasks, but no chain goes deeper than this. */
export const MAX_AGENT_GENERATIONS = 2;

/** The rules of a task's life. Pure: time and actor come in `meta`, cross-task facts in `graph`. */
export function decideTask(command: TaskCommand, state: TaskState | null, meta: CommandMeta): Emitted[] {
  if (command.type === "QueueTask") {
    if (state) throw new IllegalStateError(`task #${state.id} already exists`);
    const task = command.data;
    validateDefinition(task);
    checkBlockers(task.taskId, task.blockedBy, command.graph);
    return [{ type: "TaskQueued", data: { ...task, blockedBy: [...new Set(task.blockedBy)] } }];
  }
  if (!state) throw new IllegalStateError("no such task");
  const ref = `task #${state.id}`;

  switch (command.type) {
    case "EditTask": {
      const changes = command.data;
      if (!OPEN_STATUSES.includes(state.status)) {
        throw new IllegalStateError(`${ref} is ${state.status}; only an open task can be edited`);
      }
      const onlyWhileQueued = (["blockedBy", "area", "agent", "tier"] as const).filter((k) => changes[k] !== undefined);
      if (onlyWhileQueued.length && state.status !== "queued") {
        throw new IllegalStateError(
          `${ref} is ${state.status}: its ${onlyWhileQueued.join(", ")} can change only while it is queued ` +
            `(cancel it and queue a new one instead)`,
        );
      }
      if (changes.blockedBy) checkBlockers(state.id, changes.blockedBy, command.graph);
      if (changes.priority !== undefined) checkPriority(changes.priority);
      const normalised = changes.blockedBy ? { ...changes, blockedBy: [...new Set(changes.blockedBy)] } : changes;
      const effective = Object.fromEntries(
        Object.entries(normalised).filter(([key, value]) => value !== undefined && !same(value, state[fieldOf(key)])),
      ) as TaskEdit;
      if (Object.keys(effective).length === 0) return [];
      return [{ type: "TaskEdited", data: { changes: effective } }];
    }
    case "CancelTask":
      if (!OPEN_STATUSES.includes(state.status)) {
        throw new IllegalStateError(`${ref} is already ${state.status}; there is nothing to cancel`);
      }
      return [{ type: "TaskCancelled", data: { reason: command.data.reason, by: meta.actor } }];
    case "DispatchTask":
      if (state.status !== "queued") {
        throw new IllegalStateError(`${ref} is ${state.status}; only a queued task can be dispatched`);
      }
      return [{ type: "TaskDispatched", data: { attempt: state.attempt, ...command.data } }];
    case "StartTask":
      requireCurrentAttempt(state, command.data.attempt);
      if (state.status !== "dispatched") {
        throw new IllegalStateError(`${ref} is ${state.status}; only a dispatched task can start`);
      }
      return [{ type: "TaskStarted", data: command.data }];
    case "ReportResult": {
      const { attempt, exitCode, durationMs, sections, diffStat, maxAttempts, usage, cli, checks, flags, output } = command.data;
      // A report from an earlier attempt is stale whatever the task does now: say so first.
      if (attempt !== null && attempt < state.attempt) requireCurrentAttempt(state, attempt);
      if (state.status !== "dispatched" && state.status !== "running") {
        throw new IllegalStateError(
          state.dispatchedAt === null
            ? `${ref} is ${state.status} and was never dispatched; a result can be recorded only for a dispatched or running task`
            : `${ref} is ${state.status}, not dispatched or running; a result can be recorded only while it runs`,
        );
      }
      const current = attempt ?? state.attempt;
      requireCurrentAttempt(state, current);
      if (exitCode !== 0) {
        return [failure(state, current, "exit_code", `exit code ${exitCode}`, maxAttempts, null, meta, output)];
      }
      const reported: Emitted = {
        type: "TaskResultReported",
        data: {
          attempt: current,
          exitCode,
          durationMs,
          ...sections,
          diffStat,
          ...(usage ? { usage } : {}),
          ...(cli ? { cli } : {}),
          ...(checks ? { checks } : {}),
          ...(flags?.length ? { flags } : {}),
        },
      };
      // DESIGN §14: failed checks send the task back on their own once; after that a person decides.
      const failed = failedChecks(checks);
      if (!failed.length || command.data.onFailedChecks !== "send-back" || state.autoSendBacks > 0) return [reported];
      return [
        reported,
        { type: "TaskSentBackAutomatically", data: { attempt: current, notes: failingOutputNotes(failed), failed: failed.map((c) => c.name) } },
      ];
    }
    case "ReportFailure": {
      const { attempt, reason, detail, maxAttempts, retryAt, output } = command.data;
      if (attempt < state.attempt) requireCurrentAttempt(state, attempt);
      if (state.status !== "dispatched" && state.status !== "running") {
        throw new IllegalStateError(`${ref} is ${state.status}; only a dispatched or running task can fail`);
      }
      requireCurrentAttempt(state, attempt);
      return [failure(state, attempt, reason, detail, maxAttempts, retryAt, meta, output)];
    }
    case "RecordRunStopped": {
      // Only a cancel stops a run from outside and is confirmed so; once per attempt.
      if (state.status !== "cancelled") throw new IllegalStateError(`${ref} is ${state.status}, not cancelled; its run was not stopped by a cancel`);
      if (command.data.attempt !== state.attempt) requireCurrentAttempt(state, command.data.attempt);
      if (state.runStopped === command.data.attempt) return [];
      return [{ type: "TaskRunStopped", data: command.data }];
    }
    case "RecordVerdict": {
      const { verdict, notes, attempt } = command.data;
      if (state.status !== "review") {
        const hint =
          state.status === "approved" || state.status === "discarded" ? "it was already decided" : "wait for its result";
        throw new IllegalStateError(`${ref} is ${state.status}, not in review; ${hint}`);
      }
      if (attempt !== null && attempt !== state.attempt) {
        throw new IllegalStateError(`${ref}: that card is for attempt ${attempt}, the task is on attempt ${state.attempt}; already decided`);
      }
      if (notes !== null && notes.length > MAX_TEXT) throw new ValidationError(`notes are longer than ${MAX_TEXT} characters`);
      return [{ type: "VerdictRecorded", data: { verdict, notes, by: meta.actor, attempt: state.attempt } }];
    }
    case "AutoApprove":
      if (state.status !== "review") throw new IllegalStateError(`${ref} is ${state.status}, not in review`);
      requireCurrentAttempt(state, command.data.attempt);
      if (checksFailed(state.result)) throw new IllegalStateError(`${ref} failed its checks; it is never approved on its own, a person decides`);
      return [{ type: "TaskAutoApproved", data: command.data }];
    case "RetryTask":
      // A person may give a failed or cancelled task another go; approved and discarded are decided.
      if (state.status !== "failed" && state.status !== "cancelled") {
        throw new IllegalStateError(`${ref} is ${state.status}; only a failed or cancelled task can be retried`);
      }
      return [{ type: "TaskRetried", data: { attempt: state.attempt + 1, by: meta.actor } }];
    case "RecordMerge":
      if (state.status !== "review") throw new IllegalStateError(`${ref} is ${state.status}; only a task in review is merged`);
      // One merge per task, ever (DESIGN §12).
      if (state.merge) throw new IllegalStateError(`${ref} was merged already (${state.merge.commit.slice(0, 10)})`);
      return [{ type: "TaskMerged", data: command.data }];
    case "RecordMergeConflict":
      return [{ type: "MergeConflicted", data: command.data }];
    case "RecordWorktreeRemoved":
      if (state.worktreeRemoved) return [];
      return [{ type: "WorktreeRemoved", data: command.data }];
    case "NoteActivity": {
      const text = command.data.text.trim();
      if (!text) throw new ValidationError("an activity note needs some text");
      return [{ type: "ActivityNoted", data: { text } }];
    }
    default:
      return assertNever(command);
  }
}

function failure(
  state: TaskState,
  attempt: number,
  reason: FailureReason,
  detail: string,
  maxAttempts: number,
  retryAt: string | null,
  meta: CommandMeta,
  output: FailureOutput = {},
): Emitted {
  // A usage limit is the provider's doing and an unclaimed dispatch never ran: neither spends an attempt.
  const attemptSpent = reason !== "usage_limit" && reason !== "claim_timeout";
  // A run that tampered with the repository is not tried again on its own: a person looks first (/retry).
  const final = reason === "tampered" || (attemptSpent && attempt >= maxAttempts);
  const next = reason === "usage_limit" ? usageLimitRetryAt(retryAt, meta.at, state.limitStreak) : retryAt;
  const runner = output.runner;
  return {
    type: "TaskFailed",
    data: {
      attempt,
      reason,
      detail,
      final,
      retryAt: next,
      attemptSpent,
      ...(output.tail?.length ? { tail: output.tail } : {}),
      ...(output.log ? { log: output.log } : {}),
      ...(runner ? { runner } : {}),
    },
  };
}

function requireCurrentAttempt(state: TaskState, attempt: number): void {
  if (attempt !== state.attempt) {
    throw new IllegalStateError(
      `task #${state.id}: report for attempt ${attempt} refused; the task is on attempt ${state.attempt}`,
    );
  }
}

function validateDefinition(task: TaskDefinition): void {
  if (!task.title.trim()) throw new ValidationError("a task needs a title");
  if (task.title.length > MAX_TITLE) throw new ValidationError(`the title is longer than ${MAX_TITLE} characters`);
  checkTitleText(task.title, "a task's title");
  if (task.description.length > MAX_TEXT) throw new ValidationError(`the description is longer than ${MAX_TEXT} characters`);
  checkPriority(task.priority);
  for (const skill of task.skills ?? []) {
    if (!SKILL_NAME.test(skill)) {
      throw new ValidationError(`skill "${skill}" is not a skill name: use the folder name under the skills folder (letters, digits, '.', '_', '-')`);
    }
  }
  if (task.createdBy) checkAgentCreated(task);
}

/** An agent's follow-up: reviewed by a person (tier gate), never prioritised by the agent, and no endless chains. */
function checkAgentCreated(task: TaskDefinition): void {
  const origin = task.createdBy!;
  if (!Number.isInteger(origin.generation) || origin.generation < 1) throw new ValidationError("an agent-created task has generation 1 or more");
  if (origin.generation > MAX_AGENT_GENERATIONS) {
    throw new ValidationError(
      `refused: task #${origin.taskId} was itself created by an agent ${origin.generation - 1 === 1 ? "once" : `${origin.generation - 1} times over`}; ` +
        `chains deeper than ${MAX_AGENT_GENERATIONS} agent-created generations are not allowed. Describe the follow-up in your result's Handoff instead`,
    );
  }
  if (task.tier !== "gate") throw new ValidationError("an agent-created task is always reviewed at tier gate");
  if (task.priority !== 0) throw new ValidationError("an agent cannot set a task's priority");
}

function checkPriority(priority: number): void {
  if (!Number.isSafeInteger(priority)) throw new ValidationError(`priority must be a whole number, got ${priority}`);
}

function fieldOf(key: string): keyof TaskState {
  return (key === "tier" ? "tierPin" : key) as keyof TaskState;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
