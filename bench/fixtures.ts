import { randomUUID } from "node:crypto";
import { createClient, type Client } from "@libsql/client/sqlite3";
import type { NewEvent } from "../src/domain/events.ts";
import type { GoalEvent } from "../src/domain/goal/goal.ts";
import type { InitiativeEvent } from "../src/domain/initiative/initiative.ts";
import type { TaskEvent } from "../src/domain/task/task.ts";

// Realistic events with the data shapes the domain's evolve functions expect (checked by the compiler
// through the event types), and a fast loader that writes them straight into the events table.

type DataOf<T extends TaskEvent["type"]> = Extract<TaskEvent, { type: T }>["data"];
type TaskNewEvent = { [K in TaskEvent["type"]]: NewEvent<K, DataOf<K>> }[TaskEvent["type"]];

export const AGENTS = ["builder", "writer", "researcher"] as const;
const TYPE_OF_AGENT = { builder: "code", writer: "content", researcher: "research" } as const;
const AREAS = ["blog", "api", "auth", "billing", "search", "docs", "infra", null] as const;
const BASE_TIME = Date.parse("2026-01-01T00:00:00.000Z");

export const GOALS = 20;
export const INITIATIVES_PER_GOAL = 5;
export const INITIATIVES = GOALS * INITIATIVES_PER_GOAL;

/** Deterministic pseudo-random numbers (mulberry32), so every run writes the same store. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isoCache: string[] = [];

/** The time `minutes` after the base time, as ISO text (cached: generating a million rows asks often). */
export function isoAt(minutes: number): string {
  return (isoCache[minutes] ??= new Date(BASE_TIME + minutes * 60_000).toISOString());
}

export interface TaskSpec {
  id: number;
  blockedBy: number[];
}

/** The TaskQueued of task `id`, with a realistic title, description and goal links. */
export function taskQueued(spec: TaskSpec): TaskNewEvent {
  const agent = AGENTS[spec.id % AGENTS.length]!;
  const initiativeId = (spec.id % INITIATIVES) + 1;
  return {
    type: "TaskQueued",
    data: {
      taskId: spec.id,
      title: `Task ${spec.id}: ${TITLES[spec.id % TITLES.length]}`,
      description: `${DESCRIPTIONS[spec.id % DESCRIPTIONS.length]} (tracking #${spec.id})`,
      type: TYPE_OF_AGENT[agent],
      agent,
      project: agent === "builder" ? "site" : null,
      goalId: Math.ceil(initiativeId / INITIATIVES_PER_GOAL),
      initiativeId,
      blockedBy: spec.blockedBy,
      area: AREAS[spec.id % AREAS.length]!,
      isolation: null,
      tier: spec.id % 17 === 0 ? "gate" : null,
      priority: spec.id % 7 === 0 ? 1 : 0,
    },
  };
}

/**
 * Step `step` (0-based; the stream version is step + 1) of a task's life: queued, dispatched,
 * started, result, sent back, dispatched, started, result, approved, an activity note; past the
 * tenth step, more activity notes.
 */
export function lifecycleEvent(spec: TaskSpec, step: number): TaskNewEvent {
  const attempt = step < 5 ? 1 : 2;
  const runner = `runner-${spec.id % 3}`;
  switch (step) {
    case 0:
      return taskQueued(spec);
    case 1:
    case 5:
      return {
        type: "TaskDispatched",
        data: {
          attempt,
          runner: null,
          leaseUntil: isoAt(spec.id + step + 30),
          tier: spec.id % 3 === 1 ? "quick" : "gate",
          isolation: spec.id % 3 === 0 ? "worktree" : "direct",
          promptHash: hashLike(spec.id * 31 + step),
        },
      };
    case 2:
    case 6:
      return { type: "TaskStarted", data: { attempt, runner } };
    case 3:
    case 7:
      return {
        type: "TaskResultReported",
        data: {
          attempt,
          exitCode: 0,
          durationMs: 60_000 + ((spec.id * 7919) % 3_000_000),
          summary: `Implemented task ${spec.id} (attempt ${attempt}). Changed the handler, added tests, updated the docs.`,
          handoff: `Task ${spec.id} exposes its work under src/feature-${spec.id % 97}; call it before rendering.`,
          whatWorked: attempt === 2 ? "Writing the failing test first, then the smallest change." : null,
          reusablePattern: attempt === 2 ? "Keep adapters thin: parse, call the command layer, render." : null,
          diffStat: spec.id % 3 === 0 ? { files: 1 + (spec.id % 9), insertions: 10 + (spec.id % 400), deletions: spec.id % 120 } : null,
        },
      };
    case 4:
      return {
        type: "VerdictRecorded",
        data: { verdict: "sent_back", notes: "The tests do not cover the empty case; add one and handle it.", by: "user:telegram:123", attempt: 1 },
      };
    case 8:
      return { type: "VerdictRecorded", data: { verdict: "approved", notes: null, by: "user:telegram:123", attempt: 2 } };
    default:
      return { type: "ActivityNoted", data: { text: `merged into main as ${hashLike(spec.id + step).slice(0, 10)}` } };
  }
}

export const LIFECYCLE_LENGTH = 10;

export function goalCreated(goalId: number): NewEvent<"GoalCreated", GoalEvent["data"]> {
  return {
    type: "GoalCreated",
    data: { goalId, title: `Goal ${goalId}: grow the ${AREAS[goalId % 7]} work`, success: `Measurable outcome ${goalId} reached`, project: "site" },
  };
}

export function initiativeCreated(initiativeId: number): NewEvent<"InitiativeCreated", InitiativeEvent["data"]> {
  const goalId = Math.ceil(initiativeId / INITIATIVES_PER_GOAL);
  return {
    type: "InitiativeCreated",
    data: { initiativeId, goalId, title: `Initiative ${initiativeId} of goal ${goalId}`, success: `Initiative ${initiativeId} shipped` },
  };
}

/** 64 hex digits derived from n, shaped like a sha256. */
function hashLike(n: number): string {
  const a = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  const b = Math.imul(a ^ (a >>> 13), 0xc2b2ae35) >>> 0;
  return (a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0")).repeat(4);
}

const TITLES = [
  "MDX pipeline for the blog",
  "Paginate the search results",
  "Rate-limit the public API",
  "Research competitor pricing pages",
  "Draft the launch announcement",
  "Fix the flaky login test",
  "Add Stripe webhooks for refunds",
  "Summarise user interviews from March",
  "Migrate the docs to the new theme",
  "Cache the sitemap",
  "Write the weekly newsletter",
  "Profile the cold start of the API",
];

const DESCRIPTIONS = [
  "Follow the existing conventions; keep the public interface unchanged and add tests for the edge cases.",
  "Look at the three most popular alternatives and report what they do differently, with links.",
  "Keep it under 600 words, friendly tone, one call to action at the end.",
  "The current behaviour breaks when the input is empty; reproduce it first, then fix it.",
];

/** One stored row of the events table, minus its position. */
export type EventRow = [eventId: string, stream: string, version: number, type: string, data: string, meta: string];

/** One event as a row of the events table; `minutes` after the base time is its `meta.at`. */
export function eventRow(stream: string, version: number, event: NewEvent, minutes: number, actor: string): EventRow {
  return [
    randomUUID(),
    stream,
    version,
    event.type,
    JSON.stringify(event.data),
    // What event-store.ts writes, JSON.stringify({ at, actor, causation: null }), without the cost.
    `{"at":"${isoAt(minutes)}","actor":${JSON.stringify(actor)},"causation":null}`,
  ];
}

const ROWS_PER_STATEMENT = 5_000;
const ROWS_PER_TRANSACTION = 200_000;

/**
 * Writes rows straight into the events table: 5,000-row INSERTs in big transactions, on a connection
 * of its own (WAL, synchronous=NORMAL, a large page cache). The table's indexes are dropped for the
 * load and created again after it from their own definitions (sorting once is several times faster
 * than a million random index inserts), and the WAL is checkpointed, so the store is left as a
 * long-running one would be.
 */
export class EventLoader {
  private constructor(private readonly client: Client) {}

  static async open(file: string): Promise<EventLoader> {
    const client = createClient({ url: `file:${file}` });
    for (const pragma of ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA cache_size = -262144", "PRAGMA busy_timeout = 1000"]) {
      await client.execute(pragma);
    }
    return new EventLoader(client);
  }

  /** Pulls rows from `source` and writes them; returns how many. */
  async load(source: Iterable<EventRow>): Promise<number> {
    const indexes = await this.client.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL");
    let count = 0;
    let batch: EventRow[] = [];
    let tx = await this.client.transaction("write");
    try {
      for (const index of indexes.rows) await tx.execute(`DROP INDEX "${String(index.name)}"`);
      let inTx = 0;
      for (const row of source) {
        batch.push(row);
        if (batch.length === ROWS_PER_STATEMENT) {
          await insertRows(tx, batch);
          count += batch.length;
          inTx += batch.length;
          batch = [];
          if (inTx >= ROWS_PER_TRANSACTION) {
            await tx.commit();
            tx = await this.client.transaction("write");
            inTx = 0;
          }
        }
      }
      if (batch.length) {
        await insertRows(tx, batch);
        count += batch.length;
      }
      // A unique index that cannot be created means the fixture wrote a duplicate (stream, version).
      for (const index of indexes.rows) await tx.execute(String(index.sql));
      await tx.commit();
    } finally {
      if (!tx.closed) await tx.rollback();
    }
    await this.client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    return count;
  }

  close(): void {
    this.client.close();
  }
}

/** One parameter, a JSON array of rows, unpacked by SQLite: preparing a statement of 30,000
 * placeholders costs more than the insert it does. */
async function insertRows(tx: { execute: Client["execute"] }, rows: EventRow[]): Promise<void> {
  await tx.execute({
    sql: `INSERT INTO events (event_id, stream, version, type, data, meta)
          SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM json_each(?)`,
    args: [JSON.stringify(rows)],
  });
}

/** The goals and initiatives every generated store starts with. */
export function* planningRows(): Generator<EventRow> {
  for (let g = 1; g <= GOALS; g++) yield eventRow(`goal-${g}`, 1, goalCreated(g), 0, "cli");
  for (let i = 1; i <= INITIATIVES; i++) yield eventRow(`initiative-${i}`, 1, initiativeCreated(i), 1, "cli");
}

/**
 * Full lifecycles of tasks `from`..`to` (inclusive), interleaved the way a busy store is: a window of
 * tasks is in flight at once, so one task's events are spread across the log rather than adjacent.
 */
export function* lifecycleRows(from: number, to: number, blockersOf: (id: number) => number[]): Generator<EventRow> {
  const WINDOW = 50;
  for (let start = from; start <= to; start += WINDOW) {
    const end = Math.min(to, start + WINDOW - 1);
    const specs: TaskSpec[] = [];
    for (let id = start; id <= end; id++) specs.push({ id, blockedBy: blockersOf(id) });
    for (let step = 0; step < LIFECYCLE_LENGTH; step++) {
      for (const spec of specs) {
        const actor = step === 0 || step === 4 || step === 8 ? "user:telegram:123" : step === 1 || step === 5 ? "resolver" : `agent:${AGENTS[spec.id % 3]}`;
        yield eventRow(`task-${spec.id}`, step + 1, lifecycleEvent(spec, step), spec.id + step * 3, actor);
      }
    }
  }
}

/** Blockers among the few tasks just before this one: blockers are always older tasks, so no cycles. */
export function nearbyBlockers(id: number, count: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= count && id - k * 2 >= 1; k++) out.push(id - k * 2 + (k % 2));
  return [...new Set(out)].sort((a, b) => a - b);
}
