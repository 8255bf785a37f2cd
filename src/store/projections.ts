import type { InValue } from "@libsql/client";
import type { EventEnvelope } from "../domain/events.ts";
import { evolveGoal, type GoalEvent, type GoalState } from "../domain/goal/goal.ts";
import { evolveInitiative, type InitiativeEvent, type InitiativeState } from "../domain/initiative/initiative.ts";
import { evolveSettings, type SettingsEvent, type SettingsState } from "../domain/settings/settings.ts";
import { evolveContent, type ContentEvent, type ContentItemState } from "../domain/content/content.ts";
import { evolveTask, type TaskEvent, type TaskState } from "../domain/task/task.ts";
import { evolveTrust, type TrustEvent, type TrustState } from "../domain/trust/aggregate.ts";

/**
 * Projections are rows derived from one aggregate's state, and that state from its stream alone.
 * The inline path (after each append) and `cos rebuild` both go state → `rows`, so the two cannot
 * drift apart: a stream's rows are deleted by key and written anew from the folded state.
 */
export interface TableSpec {
  name: string;
  key: string;
  columns: string[];
  /** Exactly one row per aggregate, with `key` as its primary key. */
  singleRow?: boolean;
  /** A column that holds an event's log position (known only once the event is stored). */
  positionColumn?: string;
  /** The columns that tell one row of an aggregate from its others (with `singleRow`, `key` alone): a changed row is updated in place. */
  rowKey?: string[];
}

export interface AggregateProjection<S = unknown> {
  category: string;
  evolve(state: S | null, event: EventEnvelope): S;
  tables: TableSpec[];
  /** The key of the aggregate's rows; `stream` is the stream its state was folded from. */
  key(state: S, stream: string): InValue;
  rows(state: S, stream: string): Record<string, InValue[][]>;
}

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/** The tasks table, each column beside the state it holds: the insert's column list and the row both follow this order. */
const TASK_ROW: Readonly<Record<string, (t: TaskState) => InValue>> = {
  id: (t) => t.id,
  title: (t) => t.title,
  description: (t) => t.description,
  type: (t) => t.type,
  agent: (t) => t.agent,
  project: (t) => t.project,
  goal_id: (t) => t.goalId,
  initiative_id: (t) => t.initiativeId,
  area: (t) => t.area,
  isolation: (t) => t.isolation,
  tier_pin: (t) => t.tierPin,
  tier: (t) => t.dispatchTier,
  priority: (t) => t.priority,
  attempt: (t) => t.attempt,
  status: (t) => t.status,
  created_at: (t) => t.createdAt,
  updated_at: (t) => t.updatedAt,
  dispatched_at: (t) => t.dispatchedAt,
  runner: (t) => t.runner,
  lease_until: (t) => t.leaseUntil,
  prompt_hash: (t) => t.promptHash,
  finished_at: (t) => t.finishedAt,
  not_before: (t) => t.notBefore,
  cancel_reason: (t) => t.cancelReason,
  result: (t) => json(t.result),
  feedback: (t) => json(t.feedback && { notes: t.feedback.notes, attempt: t.feedback.attempt }),
  auto_approved: (t) => json(t.autoApproved),
  failure: (t) => json(t.failure),
  // The blockers and skills as comma lists on the row too: the resolver reads 10,000 open tasks without a join.
  blocked_by: (t) => (t.blockedBy.length ? t.blockedBy.join(",") : null),
  skills: (t) => (t.skills?.length ? t.skills.join(",") : null),
};
const TASK_COLUMNS = Object.keys(TASK_ROW);
const TASK_VALUES = Object.values(TASK_ROW);

const taskProjection: AggregateProjection<TaskState> = {
  category: "task",
  evolve: (state, event) => evolveTask(state, event as TaskEvent),
  tables: [
    { name: "tasks", key: "id", singleRow: true, columns: TASK_COLUMNS },
    { name: "task_blockers", key: "task_id", columns: ["task_id", "blocker_id"] },
    {
      name: "verdicts",
      key: "task_id",
      positionColumn: "position",
      rowKey: ["task_id", "seq"],
      columns: ["task_id", "seq", "position", "agent", "type", "verdict", "notes", "by", "attempt", "at"],
    },
    {
      name: "task_runs",
      key: "task_id",
      rowKey: ["task_id", "seq"],
      columns: ["task_id", "attempt", "seq", "dispatched_at", "runner", "tier", "started_at", "finished_at", "outcome", "cost_usd"],
    },
    { name: "task_skills", key: "task_id", columns: ["task_id", "skill"] },
    { name: "task_origins", key: "task_id", columns: ["task_id", "parent_task_id", "parent_attempt", "generation", "created_at"] },
    // FTS5: one row per task keyed by rowid, which deletes by key without scanning the index.
    { name: "memory_fts", key: "rowid", rowKey: ["rowid"], columns: ["rowid", "project", "title", "summary", "handoff", "learnings", "notes"] },
  ],
  key: (t) => t.id,
  rows: (t) => ({
    tasks: [TASK_VALUES.map((value) => value(t))],
    task_blockers: t.blockedBy.map((blocker) => [t.id, blocker]),
    verdicts: t.verdicts.map((v, seq) => [t.id, seq + 1, v.position, v.agent, v.type, v.verdict, v.notes, v.by, v.attempt, v.at]),
    task_runs: t.runs.map((r, seq) => [
      t.id, r.attempt, seq + 1, r.dispatchedAt, r.runner, r.tier, r.startedAt, r.finishedAt, r.outcome, r.costUsd,
    ]),
    task_skills: [...new Set(t.skills ?? [])].map((skill) => [t.id, skill]),
    task_origins: t.createdBy ? [[t.id, t.createdBy.taskId, t.createdBy.attempt, t.createdBy.generation, t.createdAt]] : [],
    memory_fts: memoryRows(t),
  }),
};

/** What a task leaves for later tasks to find: its result's sections and the notes on it. */
function memoryRows(t: TaskState): InValue[][] {
  const learnings = [t.result?.whatWorked, t.result?.reusablePattern].filter(Boolean).join("\n");
  const notes = [...(t.notes ?? []), ...t.verdicts.map((v) => v.notes)].filter(Boolean).join("\n");
  if (!t.result && !notes) return [];
  return [[t.id, t.project, t.title, t.result?.summary ?? "", t.result?.handoff ?? "", learnings, notes]];
}

const contentProjection: AggregateProjection<ContentItemState> = {
  category: "content",
  evolve: (state, event) => evolveContent(state, event as ContentEvent),
  tables: [
    {
      name: "content_items",
      key: "id",
      singleRow: true,
      columns: ["id", "project", "title", "channel", "status", "url", "body", "created_by_task", "created_at", "updated_at"],
    },
    { name: "content_signals", key: "item_id", rowKey: ["item_id", "seq"], columns: ["item_id", "seq", "metric", "value", "at", "reported_at", "task_id"] },
  ],
  key: (c) => c.id,
  rows: (c) => ({
    content_items: [[c.id, c.project, c.title, c.channel, c.status, c.url, c.body, c.createdByTask, c.createdAt, c.updatedAt]],
    content_signals: c.signals.map((s, seq) => [c.id, seq + 1, s.metric, s.value, s.at, s.reportedAt, s.taskId]),
  }),
};

/**
 * A projection to one row of one table per aggregate, each column beside the state (or stream) it
 * holds; the aggregate's key is its `key` column's value.
 */
function oneRowProjection<S, E extends EventEnvelope>(
  category: string,
  evolve: (state: S | null, event: E) => S,
  table: string,
  key: string,
  row: Readonly<Record<string, (state: S, stream: string) => InValue>>,
): AggregateProjection<S> {
  const values = Object.values(row);
  const keyOf = row[key]!;
  return {
    category,
    evolve: (state, event) => evolve(state, event as E),
    tables: [{ name: table, key, singleRow: true, columns: Object.keys(row) }],
    key: keyOf,
    rows: (state, stream) => ({ [table]: [values.map((value) => value(state, stream))] }),
  };
}

const goalProjection = oneRowProjection<GoalState, GoalEvent>("goal", evolveGoal, "goals", "id", {
  id: (g) => g.id, title: (g) => g.title, success: (g) => g.success, project: (g) => g.project, created_at: (g) => g.createdAt,
});

const initiativeProjection = oneRowProjection<InitiativeState, InitiativeEvent>("initiative", evolveInitiative, "initiatives", "id", {
  id: (i) => i.id, goal_id: (i) => i.goalId, title: (i) => i.title, success: (i) => i.success, created_at: (i) => i.createdAt,
});

const settingsProjection = oneRowProjection<SettingsState, SettingsEvent>("settings", evolveSettings, "settings", "stream", {
  stream: () => "settings", mode: (s) => s.mode, paused: (s) => (s.paused ? 1 : 0), paused_reason: (s) => s.pausedReason, updated_at: (s) => s.updatedAt,
});

// Keyed by the stream itself: a pair whose history is in a stream named before `-` was encoded keeps it.
const trustProjection = oneRowProjection<TrustState, TrustEvent>("trust", evolveTrust, "trust", "stream", {
  stream: (_t, stream) => stream, agent: (t) => t.agent, type: (t) => t.type, pin: (t) => t.pin, trust_tier: (t) => t.trustTier, updated_at: (t) => t.updatedAt,
});

export const PROJECTIONS: AggregateProjection<any>[] = [
  taskProjection,
  goalProjection,
  initiativeProjection,
  settingsProjection,
  trustProjection,
  contentProjection,
];

const byCategory = new Map(PROJECTIONS.map((p) => [p.category, p]));

export function categoryOf(stream: string): string {
  const dash = stream.indexOf("-");
  return dash === -1 ? stream : stream.slice(0, dash);
}

export function projectionFor(stream: string): AggregateProjection | undefined {
  return byCategory.get(categoryOf(stream));
}

export const PROJECTION_TABLES: string[] = PROJECTIONS.flatMap((p) => p.tables.map((t) => t.name));
