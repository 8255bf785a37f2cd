import { assertNever, type EventEnvelope } from "../events.ts";
import type { CheckRecord } from "./checks.ts";
import type { DiffStat } from "./diff-stat.ts";
import type { ReviewFlag } from "./flags.ts";

export type TaskStatus =
  | "queued"
  | "dispatched"
  | "running"
  | "review"
  | "approved"
  | "discarded"
  | "cancelled"
  | "failed";

export const OPEN_STATUSES: readonly TaskStatus[] = ["queued", "dispatched", "running", "review"];
export const TERMINAL_STATUSES: readonly TaskStatus[] = ["approved", "discarded", "cancelled", "failed"];
export const ALL_STATUSES: readonly TaskStatus[] = [...OPEN_STATUSES, ...TERMINAL_STATUSES];

/** Review tiers (DESIGN §5), in the order a person reads them. */
export const TIERS = ["auto", "quick", "gate"] as const;
export type Tier = (typeof TIERS)[number];
/** Where a task works (DESIGN §4): its own git worktree, or the project repository itself. */
export const ISOLATIONS = ["worktree", "direct"] as const;
export type Isolation = (typeof ISOLATIONS)[number];
export const VERDICTS = ["approved", "sent_back", "discarded"] as const;
export type Verdict = (typeof VERDICTS)[number];
/** `tampered`: the run changed what it must not (DESIGN §12: refs, the git dir's config or hooks, processes left alive). */
export const FAILURE_REASONS = ["exit_code", "timeout", "lease_lost", "usage_limit", "claim_timeout", "tampered"] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface ResultSections {
  summary: string;
  handoff: string | null;
  whatWorked: string | null;
  reusablePattern: string | null;
}

export type { DiffStat };

/** What an agent CLI reported it spent, where it reports it. */
export interface Usage {
  costUsd: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
}

/**
 * Why a run failed, beyond its reason: the last meaningful lines the agent printed (stderr first) and
 * where the whole log is. Absent on failures recorded before runners sent them, and on failures no run
 * caused (an unclaimed dispatch, a lost lease).
 */
export interface FailureOutput {
  tail?: string[];
  /** The run's log file, on the runner's machine. */
  log?: string | null;
  /** The runner the run failed on. */
  runner?: string | null;
}

/** A run stopped because its task was cancelled, as its runner confirmed. */
export interface RunStopped {
  attempt: number;
  runner: string;
  /** The task's worktree, and whether the runner removed it (its branch stays). */
  worktree: { path: string; removed: boolean } | null;
}

/** The agent CLI a run used, as its runner saw it: recorded with the result. */
export interface AgentCli {
  /** The CLI as people name it: "Claude Code". */
  name: string;
  /** What its `--version` printed, or null when it could not be read. */
  version: string | null;
  /** Set when the version is not one its preset was proven with: shown on the card. */
  warning: string | null;
}

export interface TaskResult extends ResultSections {
  attempt: number;
  exitCode: number;
  durationMs: number | null;
  diffStat: DiffStat | null;
  usage?: Usage | null;
  /** Absent for an agent without a preset, and on results recorded before it was. */
  cli?: AgentCli | null;
  /** The project's checks on this result (DESIGN §14); absent when it has none, and on results recorded before them. */
  checks?: CheckRecord[] | null;
  /** What deserves a closer look (sensitive paths, large deletions); absent on results recorded before flags. */
  flags?: ReviewFlag[];
  at: string;
}

/** The notes and result of an attempt that went back to the queue, for the next attempt's prompt. */
export interface Feedback {
  notes: string | null;
  attempt: number;
  result: TaskResult | null;
  /** Sent back by cos because its checks failed (DESIGN §14), not by a person. */
  automatic?: boolean;
}

/** One dispatch and what came of it: the budget and the run history read these. */
export interface TaskRun {
  attempt: number;
  dispatchedAt: string;
  runner: string | null;
  tier: Tier;
  startedAt: string | null;
  finishedAt: string | null;
  outcome: "result" | "failed" | "cancelled" | null;
  costUsd: number | null;
}

export interface TaskDefinition {
  taskId: number;
  title: string;
  description: string;
  type: string;
  agent: string;
  project: string | null;
  goalId: number | null;
  initiativeId: number | null;
  blockedBy: number[];
  area: string | null;
  isolation: Isolation | null;
  /** The person's pin (`--tier`). Events keep this name for good; the state calls it `tierPin`, apart from the tier fixed at dispatch. */
  tier: Tier | null;
  priority: number;
  /** Skills (`<skillsDir>/<name>/SKILL.md`) this task needs beyond its agent's; absent on older events. */
  skills?: string[];
  /** Set when an agent queued this task through the MCP server; absent for a person's task. */
  createdBy?: TaskOrigin;
}

/** The run that queued an agent-created task, and how deep its chain is (its creator's generation + 1). */
export interface TaskOrigin {
  taskId: number;
  attempt: number;
  generation: number;
}

export type TaskEdit = Partial<Pick<TaskDefinition, "blockedBy" | "priority" | "area" | "agent" | "tier">>;

export type TaskEvent =
  | EventEnvelope<"TaskQueued", TaskDefinition>
  | EventEnvelope<"TaskEdited", { changes: TaskEdit }>
  | EventEnvelope<"TaskCancelled", { reason: string | null; by: string }>
  | EventEnvelope<
      "TaskDispatched",
      { attempt: number; runner: string | null; leaseUntil: string; tier: Tier; isolation: Isolation; promptHash: string }
    >
  | EventEnvelope<"TaskStarted", { attempt: number; runner: string; leaseUntil?: string; promptHash?: string }>
  | EventEnvelope<"TaskResultReported", Omit<TaskResult, "at">>
  | EventEnvelope<
      "TaskFailed",
      { attempt: number; reason: FailureReason; detail: string; final: boolean; retryAt: string | null; attemptSpent: boolean } & FailureOutput
    >
  | EventEnvelope<"TaskRunStopped", RunStopped>
  | EventEnvelope<"VerdictRecorded", { verdict: Verdict; notes: string | null; by: string; attempt: number }>
  /** A result whose checks failed, sent back once by cos itself (`review.onFailedChecks: send-back`): no verdict, no trust. */
  | EventEnvelope<"TaskSentBackAutomatically", { attempt: number; notes: string; failed: string[] }>
  | EventEnvelope<"TaskAutoApproved", { attempt: number; tier: Tier; spotCheck: boolean }>
  | EventEnvelope<"ActivityNoted", { text: string }>
  | EventEnvelope<"TaskMerged", { branch: string; into: string; commit: string }>
  | EventEnvelope<"MergeConflicted", { branch: string; into: string; files: string[]; message: string }>
  | EventEnvelope<"WorktreeRemoved", { path: string; keptRef: string | null }>
  | EventEnvelope<"TaskRetried", { attempt: number; by: string }>;

export interface VerdictEntry {
  /** The log position of the verdict: "the last 20" is by this order. */
  position: number;
  /** The agent and type judged: trust is per (agent, type) as they were when the verdict fell. */
  agent: string;
  type: string;
  verdict: Verdict;
  notes: string | null;
  by: string;
  attempt: number;
  at: string;
}

/**
 * Every field of a TaskState, each with its value when the task is queued (from TaskQueued's data and
 * time): the one list of them. The state's type, its first value and the copy each later event makes
 * all derive from it, so a new field is one line here. Every field is always present (`undefined`
 * when unset), which keeps all states of one shape.
 */
const TASK_STATE_FIELDS = {
  title: (d) => d.title,
  description: (d) => d.description,
  type: (d) => d.type,
  agent: (d) => d.agent,
  project: (d) => d.project,
  goalId: (d) => d.goalId,
  initiativeId: (d) => d.initiativeId,
  blockedBy: (d) => d.blockedBy,
  area: (d) => d.area,
  isolation: (d) => d.isolation,
  priority: (d) => d.priority,
  /** Skills (`<skillsDir>/<name>/SKILL.md`) this task needs beyond its agent's; unset on older events. */
  skills: (d) => d.skills,
  /** Set when an agent queued this task through the MCP server; unset for a person's task. */
  createdBy: (d) => d.createdBy,
  id: (d) => d.taskId,
  status: (): TaskStatus => "queued",
  attempt: () => 1,
  /** The person's pin for this task (`--tier`), if any: `tier` in TaskQueued and TaskEdited. */
  tierPin: (d) => d.tier,
  /** The tier fixed at the last dispatch. */
  dispatchTier: (): Tier | null => null,
  createdAt: (_, at) => at,
  updatedAt: (_, at) => at,
  dispatchedAt: (): string | null => null,
  runner: (): string | null => null,
  leaseUntil: (): string | null => null,
  promptHash: (): string | null => null,
  /** When the last result was reported: the start of review timers and goal cooldowns. */
  finishedAt: (): string | null => null,
  /** Not to be dispatched before this time (usage-limit re-queue). */
  notBefore: (): string | null => null,
  /** Usage limits in a row since the last result or other failure: how far the next one backs off. */
  limitStreak: () => 0,
  result: (): TaskResult | null => null,
  /** The result and notes of the attempt that was sent back, for the next attempt's prompt. */
  feedback: (): Feedback | null => null,
  verdicts: (): VerdictEntry[] => [],
  /** How often cos sent this task back on its own for failed checks: once at most, then a person decides. */
  autoSendBacks: () => 0,
  autoApproved: (): { tier: Tier; spotCheck: boolean; at: string } | null => null,
  cancelReason: (): string | null => null,
  failure: (): ({ reason: FailureReason; detail: string; attempt: number } & FailureOutput) | null => null,
  /** The attempt whose run its runner confirmed stopped after a cancel; null until then. */
  runStopped: (): number | null => null,
  activity: (_, at): { at: string; text: string }[] => [{ at, text: "queued" }],
  runs: (): TaskRun[] => [],
  merge: (): { commit: string; into: string; at: string } | null => null,
  worktreeRemoved: () => false,
  /** The texts of ActivityNoted events (agents' and people's notes), for the memory index; unset until the first. */
  notes: (): string[] | undefined => undefined,
} satisfies Record<string, (queued: TaskDefinition, at: string) => unknown>;

type FieldValues<F> = { -readonly [K in keyof F]: F[K] extends (...args: never[]) => infer V ? V : never };

export interface TaskState extends FieldValues<typeof TASK_STATE_FIELDS> {}

// Each field of a definition is a field of the state (`taskId` as `id`, `tier` as `tierPin`): a field
// added to TaskDefinition and not to the list above does not build.
const definitionKept: Exclude<keyof TaskDefinition, "taskId" | "tier" | keyof TaskState> extends never ? true : never = true;
void definitionKept;

const FIELD_NAMES = Object.keys(TASK_STATE_FIELDS);

/**
 * The first state, and the copy every later event starts from, each one object literal with every field
 * written out, generated once from the list. V8 keeps the objects of one literal on its fast path;
 * `{ ...state }` or a loop of stores does not, and a rebuild of a million events feels the difference
 * (folding takes two to three times as long). A state with a key the list does not know (a field that
 * a later version of TaskQueued carries) is copied by spreading it, so nothing is dropped.
 */
const queuedState = new Function(
  "fields",
  `return (d, at) => ({ ${FIELD_NAMES.map((name) => `${name}: fields.${name}(d, at)`).join(", ")} });`,
)(TASK_STATE_FIELDS) as (queued: TaskDefinition, at: string) => TaskState;

const copyFields = new Function(`return (s) => ({ ${FIELD_NAMES.map((name) => `${name}: s.${name}`).join(", ")} });`)() as (
  s: TaskState,
) => TaskState;

function copyTaskState(s: TaskState): TaskState {
  return Object.keys(s).length === FIELD_NAMES.length ? copyFields(s) : { ...s };
}

export function taskStream(id: number): string {
  return `task-${id}`;
}

export function describeVerdict(verdict: Verdict): string {
  return verdict === "sent_back" ? "sent back" : verdict;
}

/** Folds one event into the state. Pure; the activity lines are part of the derived state. */
export function evolveTask(state: TaskState | null, event: TaskEvent): TaskState {
  if (event.type === "TaskQueued") {
    const state = queuedState(event.data, event.at);
    // Fields later versions of TaskQueued carry, kept as they are.
    for (const key of Object.keys(event.data)) {
      if (!(key in state) && key !== "taskId" && key !== "tier") {
        (state as unknown as Record<string, unknown>)[key] = (event.data as unknown as Record<string, unknown>)[key];
      }
    }
    return state;
  }
  if (!state) throw new Error(`${event.type} before TaskQueued`);
  const next = copyTaskState(state);
  next.updatedAt = event.at;
  const note = (text: string) => {
    next.activity = [...state.activity, { at: event.at, text }];
  };
  const endRun = (outcome: TaskRun["outcome"], costUsd: number | null = null) => {
    const last = state.runs.at(-1);
    if (!last || last.finishedAt) return;
    next.runs = [...state.runs.slice(0, -1), { ...last, finishedAt: event.at, outcome, costUsd }];
  };
  switch (event.type) {
    case "TaskEdited": {
      const { tier, ...rest } = event.data.changes;
      Object.assign(next, rest);
      if (tier !== undefined) next.tierPin = tier;
      note(`edited: ${describeEdit(event.data.changes)}`);
      return next;
    }
    case "TaskCancelled":
      next.status = "cancelled";
      next.cancelReason = event.data.reason;
      next.leaseUntil = null;
      endRun("cancelled");
      note(`cancelled by ${event.data.by}${event.data.reason ? `: ${event.data.reason}` : ""}`);
      return next;
    case "TaskDispatched":
      next.status = "dispatched";
      next.attempt = event.data.attempt;
      next.dispatchTier = event.data.tier;
      next.isolation = event.data.isolation;
      next.runner = event.data.runner;
      next.leaseUntil = event.data.leaseUntil;
      next.promptHash = event.data.promptHash;
      next.dispatchedAt = event.at;
      next.notBefore = null;
      next.runs = [
        ...state.runs,
        {
          attempt: event.data.attempt,
          dispatchedAt: event.at,
          runner: event.data.runner,
          tier: event.data.tier,
          startedAt: null,
          finishedAt: null,
          outcome: null,
          costUsd: null,
        },
      ];
      note(`dispatched: attempt ${event.data.attempt}, tier ${event.data.tier}, ${event.data.isolation}`);
      return next;
    case "TaskStarted":
      next.status = "running";
      next.runner = event.data.runner;
      next.leaseUntil = event.data.leaseUntil ?? state.leaseUntil;
      next.runs = state.runs.map((run, i) =>
        i === state.runs.length - 1 ? { ...run, runner: event.data.runner, startedAt: event.at } : run,
      );
      note(`started on ${event.data.runner}`);
      return next;
    case "TaskResultReported":
      next.status = "review";
      next.result = { ...event.data, at: event.at };
      next.finishedAt = event.at;
      next.leaseUntil = null;
      next.failure = null;
      next.limitStreak = 0;
      endRun("result", event.data.usage?.costUsd ?? null);
      note(`result reported (attempt ${event.data.attempt}, exit ${event.data.exitCode})`);
      return next;
    case "TaskFailed": {
      const { attempt, reason, detail, final, retryAt, attemptSpent, tail, log, runner } = event.data;
      next.failure = { reason, detail, attempt, ...(tail ? { tail } : {}), ...(log !== undefined ? { log } : {}), ...(runner !== undefined ? { runner } : {}) };
      next.leaseUntil = null;
      next.runner = null;
      endRun("failed");
      if (reason !== "claim_timeout") next.limitStreak = reason === "usage_limit" ? state.limitStreak + 1 : 0;
      if (reason === "usage_limit" && !final) {
        // One line per re-queue: the run's "dispatched" and "started" lines give way to this one, so a limit that
        // holds all night reads as a few lines, each with the CLI's words and the next try.
        const run = state.runs.at(-1);
        const ofThisRun = (a: { at: string; text: string }) =>
          run !== undefined && ((a.at === run.dispatchedAt && a.text.startsWith("dispatched: ")) || (a.at === run.startedAt && a.text.startsWith("started on ")));
        next.status = "queued";
        next.notBefore = retryAt;
        next.activity = [
          ...state.activity.filter((a) => !ofThisRun(a)),
          { at: event.at, text: `${detail}; attempt ${attempt} not spent, tried again after ${retryAt ?? "the next pass"}` },
        ];
        return next;
      }
      if (final) {
        next.status = "failed";
        note(`failed (attempt ${attempt}): ${detail}; no attempts left`);
      } else {
        next.status = "queued";
        next.attempt = attemptSpent ? attempt + 1 : attempt;
        next.notBefore = retryAt;
        note(
          `failed (attempt ${attempt}): ${detail}; queued again for attempt ${next.attempt}` +
            (retryAt ? ` after ${retryAt}` : ""),
        );
      }
      return next;
    }
    case "VerdictRecorded": {
      const { verdict, notes, by, attempt } = event.data;
      next.verdicts = [
        ...state.verdicts,
        { position: event.position ?? 0, agent: state.agent, type: state.type, verdict, notes, by, attempt, at: event.at },
      ];
      if (verdict === "approved") next.status = "approved";
      else if (verdict === "discarded") next.status = "discarded";
      else {
        next.status = "queued";
        next.attempt = attempt + 1;
        next.feedback = { notes, attempt, result: state.result };
      }
      note(`${describeVerdict(verdict)} by ${by}${notes ? `: ${notes}` : ""}`);
      return next;
    }
    case "TaskSentBackAutomatically": {
      const { attempt, notes, failed } = event.data;
      next.status = "queued";
      next.attempt = attempt + 1;
      next.feedback = { notes, attempt, result: state.result, automatic: true };
      next.autoSendBacks = state.autoSendBacks + 1;
      note(`sent back automatically: ${failed.length === 1 ? "check" : "checks"} ${failed.join(", ")} failed (not a person's verdict; trust is unchanged)`);
      return next;
    }
    case "TaskAutoApproved":
      next.status = "approved";
      next.autoApproved = { tier: event.data.tier, spotCheck: event.data.spotCheck, at: event.at };
      note(`auto-approved (tier ${event.data.tier})${event.data.spotCheck ? ", flagged for spot-check" : ""}`);
      return next;
    case "ActivityNoted":
      note(event.data.text);
      next.notes = [...(state.notes ?? []), event.data.text];
      return next;
    case "TaskMerged":
      next.merge = { commit: event.data.commit, into: event.data.into, at: event.at };
      note(`merged ${event.data.branch} into ${event.data.into} (${event.data.commit.slice(0, 10)})`);
      return next;
    case "MergeConflicted":
      note(`merge of ${event.data.branch} into ${event.data.into} refused: ${event.data.files.length ? `conflicts in ${event.data.files.join(", ")}` : event.data.message}`);
      return next;
    case "TaskRetried":
      next.status = "queued";
      next.attempt = event.data.attempt;
      next.failure = null;
      next.cancelReason = null;
      note(`queued again by ${event.data.by} for attempt ${event.data.attempt}`);
      return next;
    case "TaskRunStopped": {
      const { runner, worktree } = event.data;
      next.runStopped = event.data.attempt;
      note(`run stopped on ${runner}: its agent was ended${worktree ? (worktree.removed ? `; worktree ${worktree.path} removed (its branch stays)` : `; worktree ${worktree.path} kept`) : ""}`);
      return next;
    }
    case "WorktreeRemoved":
      next.worktreeRemoved = true;
      note(`worktree ${event.data.path} removed${event.data.keptRef ? `; commits kept at ${event.data.keptRef}` : ""}`);
      return next;
    default:
      return assertNever(event);
  }
}

function describeEdit(changes: TaskEdit): string {
  const parts: string[] = [];
  if (changes.blockedBy) parts.push(`after ${changes.blockedBy.length ? changes.blockedBy.map((id) => `#${id}`).join(", ") : "nothing"}`);
  if (changes.priority !== undefined) parts.push(`priority ${changes.priority}`);
  if (changes.area !== undefined) parts.push(`area ${changes.area ?? "none"}`);
  if (changes.agent !== undefined) parts.push(`agent ${changes.agent}`);
  if (changes.tier !== undefined) parts.push(`tier pin ${changes.tier ?? "none"}`);
  return parts.join(", ");
}

export function foldTask(events: TaskEvent[]): TaskState | null {
  let state: TaskState | null = null;
  for (const event of events) state = evolveTask(state, event);
  return state;
}
