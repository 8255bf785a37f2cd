import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client/sqlite3";
import type { NewEvent } from "../src/domain/events.ts";
import { Database } from "../src/store/db.ts";
import { EventStore, type StreamAppend } from "../src/store/event-store.ts";
import { migrate } from "../src/store/migrate.ts";
import type { RebuildReport } from "../src/store/rebuild.ts";
import {
  EventLoader,
  GOALS,
  INITIATIVES,
  LIFECYCLE_LENGTH,
  eventRow,
  isoAt,
  lifecycleEvent,
  lifecycleRows,
  nearbyBlockers,
  planningRows,
  rng,
  type TaskSpec,
} from "./fixtures.ts";
import { bundleWorker } from "./bundle.ts";
import { ROOT, round, type BenchContext, type BenchGroup, type Metric } from "./lib.ts";

export const storeGroup: BenchGroup = {
  description: "event store: append throughput, raw libSQL inserts, batched appends, projection rebuilds",
  async run(ctx) {
    // One after the other: benches run side by side would time each other.
    return [
      ...(await appendBench(ctx)),
      ...(await rawInsertBench(ctx)),
      ...(await appendVsRawBench(ctx)),
      ...(await batchedBench(ctx)),
      ...(await rebuildBench(ctx)),
    ];
  },
};

async function openStore(file: string): Promise<{ db: Database; store: EventStore }> {
  const db = await Database.open({ url: `file:${file}` });
  await migrate(db);
  return { db, store: new EventStore(db) };
}

/** How long each throughput loop runs (after its warm-up), and the most operations it does. */
const THROUGHPUT_MS = 3_000;
const MAX_OPS = 20_000;

/** Runs `op` until the time or count budget is spent; returns operations per second. */
async function throughput(op: (i: number) => Promise<void>, warmup: number): Promise<{ perSecond: number; ops: number; ms: number }> {
  for (let i = 0; i < warmup; i++) await op(i);
  const started = performance.now();
  let ops = 0;
  while (ops < MAX_OPS && performance.now() - started < THROUGHPUT_MS) await op(warmup + ops++);
  const ms = performance.now() - started;
  return { perSecond: (ops * 1000) / ms, ops, ms };
}

// --- single appends -------------------------------------------------------------------------------

/** Share of single appends that start a new stream; the rest extend an existing one. */
const NEW_STREAM_SHARE = 0.3;

/** One append of one lifecycle event, 30% to new task streams, the rest to existing ones. */
async function appendOp(file: string) {
  const { db, store } = await openStore(file);
  const random = rng(1);
  const streams: { spec: TaskSpec; version: number }[] = [];
  let minute = 0;
  const op = async () => {
    minute++;
    let target: { spec: TaskSpec; version: number };
    if (streams.length < 10 || random() < NEW_STREAM_SHARE) {
      const id = streams.length + 1;
      target = { spec: { id, blockedBy: id > 2 ? [id - 1, id - 2] : [] }, version: 0 };
      streams.push(target);
    } else {
      target = streams[Math.floor(random() * streams.length)]!;
    }
    const event = lifecycleEvent(target.spec, target.version);
    await store.append([{ stream: `task-${target.spec.id}`, expectedVersion: target.version, events: [event] }], {
      at: isoAt(minute),
      actor: "cli",
    });
    target.version++;
  };
  return { op, streams, close: () => db.close() };
}

export async function appendBench(ctx: BenchContext): Promise<Metric[]> {
  const { op, streams, close } = await appendOp(join(ctx.dir, "append.db"));
  const result = await throughput(op, 200);
  const versions = streams.map((s) => s.version);
  await close();
  ctx.log(`append: ${result.ops} appends in ${Math.round(result.ms)} ms over ${streams.length} streams (max length ${Math.max(...versions)})`);
  return [
    {
      name: "store.append_per_s",
      value: round(result.perSecond, 0),
      unit: "appends/s",
      target: { min: 1_000 },
      note: `${result.ops} appends, 1 event each, ${Math.round(NEW_STREAM_SHARE * 100)}% new streams`,
    },
  ];
}

// --- raw libSQL inserts ---------------------------------------------------------------------------

/** Raw inserts into a table like the log, on a client with the pragmas of src/store/db.ts. */
async function rawInserts(file: string) {
  // The same table and indexes as the events table, the same pragmas as src/store/db.ts.
  const client = createClient({ url: `file:${file}`, concurrency: 1, timeout: 1000 });
  for (const pragma of ["PRAGMA journal_mode = WAL", "PRAGMA busy_timeout = 1000", "PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL"]) {
    await client.execute(pragma);
  }
  const ddl = readFileSync(join(ROOT, "migrations", "0000_init.sql"), "utf8")
    .split("--> statement-breakpoint")
    .filter((s) => /events/.test(s));
  for (const statement of ddl) await client.execute(statement);
  const insert = "INSERT INTO events (event_id, stream, version, type, data, meta) VALUES (?,?,?,?,?,?)";
  let n = 0;
  const row = () => {
    n++;
    const event: NewEvent = { type: "ActivityNoted", data: { text: `note ${n}` } };
    return eventRow(`raw-${n}`, 1, event, n, "cli");
  };
  const transactional = async () => {
    const tx = await client.transaction("write");
    await tx.execute({ sql: insert, args: row() });
    await tx.commit();
  };
  return { client, insert, row, transactional };
}

export async function rawInsertBench(ctx: BenchContext): Promise<Metric[]> {
  const { client, insert, row, transactional } = await rawInserts(join(ctx.dir, "raw.db"));
  const autocommit = await throughput(async () => {
    await client.execute({ sql: insert, args: row() });
  }, 200);
  const explicit = await throughput(transactional, 200);
  client.close();
  ctx.log(`raw: ${autocommit.ops} autocommit inserts, ${explicit.ops} BEGIN IMMEDIATE/INSERT/COMMIT transactions`);
  return [
    {
      name: "store.raw_insert_per_s",
      value: round(autocommit.perSecond, 0),
      unit: "inserts/s",
      note: "autocommit INSERT, one row per transaction",
    },
    {
      name: "store.raw_tx_insert_per_s",
      value: round(explicit.perSecond, 0),
      unit: "inserts/s",
      note: "client.transaction('write') + INSERT + commit, as append does",
    },
  ];
}

// --- appends against raw inserts, side by side -----------------------------------------------------

/**
 * Appends and raw transactional inserts in alternating slices of 200 ms for a few seconds: side by
 * side, so a machine whose load comes and goes weighs on both alike, and their ratio means something
 * even when each figure alone does not.
 */
export async function appendVsRawBench(ctx: BenchContext): Promise<Metric[]> {
  const append = await appendOp(join(ctx.dir, "append-vs.db"));
  const raw = await rawInserts(join(ctx.dir, "raw-vs.db"));
  for (let i = 0; i < 200; i++) {
    await append.op();
    await raw.transactional();
  }
  const totals = { append: { ops: 0, ms: 0 }, raw: { ops: 0, ms: 0 } };
  const until = performance.now() + 2 * THROUGHPUT_MS;
  while (performance.now() < until) {
    for (const [name, op] of [["append", append.op], ["raw", raw.transactional]] as const) {
      const started = performance.now();
      let ops = 0;
      while (performance.now() - started < 200) {
        await op();
        ops++;
      }
      totals[name].ops += ops;
      totals[name].ms += performance.now() - started;
    }
  }
  await append.close();
  raw.client.close();
  const appendRate = (totals.append.ops * 1000) / totals.append.ms;
  const rawRate = (totals.raw.ops * 1000) / totals.raw.ms;
  ctx.log(`append vs raw: ${Math.round(appendRate)} appends/s against ${Math.round(rawRate)} raw transactional inserts/s, in alternating slices`);
  return [
    {
      name: "store.append_vs_raw_tx_pct",
      value: round((appendRate / rawRate) * 100, 0),
      unit: "%",
      target: { min: 40 },
      note: `${Math.round(appendRate)} appends/s (one batch: event, projection rows) against ${Math.round(rawRate)} raw tx inserts/s, interleaved`,
    },
  ];
}

// --- batched appends ------------------------------------------------------------------------------

const STREAMS_PER_BATCH = 10; // × LIFECYCLE_LENGTH events = 100 events per append

export async function batchedBench(ctx: BenchContext): Promise<Metric[]> {
  const { db, store } = await openStore(join(ctx.dir, "batched.db"));
  let nextId = 1;
  const op = async (i: number) => {
    const appends: StreamAppend[] = [];
    for (let s = 0; s < STREAMS_PER_BATCH; s++) {
      const id = nextId++;
      const spec: TaskSpec = { id, blockedBy: nearbyBlockers(id, id % 3) };
      const events = Array.from({ length: LIFECYCLE_LENGTH }, (_, step) => lifecycleEvent(spec, step));
      appends.push({ stream: `task-${id}`, expectedVersion: 0, events });
    }
    await store.append(appends, { at: isoAt(i), actor: "resolver" });
  };
  const result = await throughput(op, 10);
  await db.close();
  const perBatch = STREAMS_PER_BATCH * LIFECYCLE_LENGTH;
  ctx.log(`batched: ${result.ops} appends of ${perBatch} events in ${Math.round(result.ms)} ms`);
  return [
    {
      name: "store.batched_events_per_s",
      value: round(result.perSecond * perBatch, 0),
      unit: "events/s",
      note: `${perBatch} events per append (${STREAMS_PER_BATCH} new task streams × ${LIFECYCLE_LENGTH} lifecycle events)`,
    },
  ];
}

// --- rebuilds -------------------------------------------------------------------------------------

interface WorkerReport {
  report: RebuildReport;
  wallMs: number;
  baselineRssMb: number;
  peakRssMb: number;
  counts: Record<string, number>;
}

const PLANNING_EVENTS = GOALS + INITIATIVES;

async function rebuildBench(ctx: BenchContext): Promise<Metric[]> {
  const worker = await bundleWorker(join(ROOT, "bench", "rebuild-worker.ts"));
  const file = join(ctx.dir, "rebuild.db");
  const { db } = await openStore(file);
  await db.close();
  const loader = await EventLoader.open(file);
  const blockers = (id: number) => nearbyBlockers(id, id % 3);
  const metrics: Metric[] = [];
  let loadedTasks = 0;
  try {
    for (const [label, events] of [["100k", 100_000], ["1m", 1_000_000]] as const) {
      const tasks = (events - PLANNING_EVENTS) / LIFECYCLE_LENGTH;
      const started = performance.now();
      const rows = loadedTasks === 0 ? concat(planningRows(), lifecycleRows(1, tasks, blockers)) : lifecycleRows(loadedTasks + 1, tasks, blockers);
      const written = await loader.load(rows);
      ctx.log(`rebuild ${label}: wrote ${written.toLocaleString("en-US")} events in ${Math.round(performance.now() - started)} ms; rebuilding`);
      loadedTasks = tasks;

      const result = await rebuildInChild(worker, file, `rebuild-${label}`);
      checkCounts(result, events, tasks);
      ctx.log(
        `rebuild ${label}: ${result.report.events.toLocaleString("en-US")} events, ${result.report.streams.toLocaleString("en-US")} streams, ` +
          `${Math.round(result.wallMs)} ms (${result.report.workers} worker threads), peak RSS ${Math.round(result.peakRssMb)} MB ` +
          `(baseline ${Math.round(result.baselineRssMb)} MB)`,
      );
      const projected = Object.entries(result.counts).reduce((n, [table, count]) => n + (table === "approved" ? 0 : count), 0);
      metrics.push({
        name: `store.rebuild_${label}_ms`,
        // The whole call as the caller sees it.
        value: Math.round(result.wallMs),
        unit: "ms",
        ...(label === "1m" ? { target: { max: 15_000 } } : {}),
        note: `${result.report.streams.toLocaleString("en-US")} streams, ${projected.toLocaleString("en-US")} projection rows written`,
      });
      metrics.push({
        name: `store.rebuild_${label}_peak_rss_mb`,
        value: round(result.peakRssMb, 0),
        unit: "MB",
        note: `peak RSS of the rebuilding process (Node baseline ${Math.round(result.baselineRssMb)} MB)`,
      });
    }
  } finally {
    loader.close();
  }
  return metrics;
}

function* concat<T>(...parts: Iterable<T>[]): Generator<T> {
  for (const part of parts) yield* part;
}

function checkCounts(result: WorkerReport, events: number, tasks: number): void {
  const c = result.counts;
  const expected = {
    events: result.report.events === events,
    tasks: c.tasks === tasks,
    approved: c.approved === tasks,
    verdicts: c.verdicts === tasks * 2,
    goals: c.goals === GOALS && c.initiatives === INITIATIVES,
  };
  const wrong = Object.entries(expected).filter(([, ok]) => !ok).map(([k]) => k);
  if (wrong.length) throw new Error(`rebuild produced unexpected projections (${wrong.join(", ")}): ${JSON.stringify(result)}`);
}

/** Set BENCH_CPU_PROF=DIR to write a V8 CPU profile of each rebuild into DIR. */
function rebuildInChild(worker: string, file: string, name: string): Promise<WorkerReport> {
  const profDir = process.env.BENCH_CPU_PROF;
  const args = [...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []), worker, file];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`rebuild worker exited with ${code}: ${stderr.trim()}`));
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as WorkerReport);
      } catch {
        reject(new Error(`rebuild worker printed no report: ${stdout}${stderr}`));
      }
    });
  });
}
