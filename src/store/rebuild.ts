import { join } from "node:path";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { CosError, type ErrorCode } from "../shared/errors.ts";
import { packageRoot } from "../shared/paths.ts";
import type { Database, Tx } from "./db.ts";
import { PROJECTION_TABLES } from "./projections.ts";
import { foldRange, insertStatement, sqliteFeatures, type Folded, type RowBatch, type StreamRange } from "./fold.ts";

/**
 * `cos rebuild`: the whole log replayed into empty projection tables, all or nothing, so readers see
 * the old tables or the new ones and never a half-built set. On an embedded file that is one write
 * transaction; on a remote store, where a transaction must not span round trips (sqld rolls back one
 * older than 5 s), the tables are built in pages beside the live ones and swapped in by one batch
 * (src/store/shadow.ts).
 *
 * The log is read stream by stream (the (stream, version) index gives that order), so one aggregate
 * is folded at a time and memory stays flat however long the log is. On an embedded store of some
 * size, the log is cut into stream ranges that worker threads read (each on a connection of its own)
 * and fold, while this thread writes the rows they send: reading and folding take longer than
 * writing, and the threads keep every core busy.
 */

export interface RebuildReport {
  events: number;
  streams: number;
  /** From the start to the end of the commit. */
  ms: number;
  /** How many worker threads read and folded the log while this one wrote: 0 when it did it all, and
   * fewer than asked for when the log has fewer streams to share out. */
  workers: number;
}

export interface RebuildOptions {
  /** Events read per query. */
  pageSize?: number;
  /** Rows of one table written per statement. */
  batchRows?: number;
  /**
   * Worker threads that read and fold: "auto" (the default) uses one per core, up to four, on an
   * embedded file store of WORKER_THRESHOLD events or more, and none otherwise.
   */
  workers?: number | "auto";
}

/** Below this many events a worker's start-up (some tens of milliseconds) is not worth it. */
const WORKER_THRESHOLD = 20_000;
const MAX_WORKERS = 4;
/** Events per read: a page is parsed in one go, so it is also how long a worker holds off its next batches. */
const PAGE_SIZE = 10_000;
/** Rows per insert: enough to sort for locality, few enough that the writes start early and memory stays low. */
const BATCH_ROWS = 4_000;
/** Batches a worker may send ahead of the writes: bounds the memory they hold. */
const BATCHES_AHEAD = 8;

export async function rebuildProjections(db: Database, options: RebuildOptions = {}): Promise<RebuildReport> {
  const started = performance.now();
  const features = await sqliteFeatures(db);
  // A remote store never holds a transaction across round trips: the tables are built in pages beside
  // the live ones and swapped in by one batch (src/store/shadow.ts).
  if (!db.embedded) {
    const { rebuildInPages } = await import("./shadow.ts");
    const rebuilt = await rebuildInPages(db, { pageSize: options.pageSize, batchRows: options.batchRows, jsonb: features.jsonb });
    return { ...rebuilt, workers: 0, ms: Math.round(performance.now() - started) };
  }
  const sizes = { pageSize: options.pageSize ?? PAGE_SIZE, batchRows: options.batchRows ?? BATCH_ROWS };
  const rebuilt = await db.write(async (tx) => {
    const indexes = await emptyProjections(tx);
    const logSize = Number((await tx.execute("SELECT MAX(position) AS last FROM events")).rows[0]?.last ?? 0);
    const wanted = options.workers === "auto" || options.workers === undefined ? workersWorthIt(db, logSize) : options.workers;
    if (wanted > 0 && !canUseWorkers(db)) throw new Error(`rebuild workers need an embedded file store, not ${db.url}`);
    const write = (batch: RowBatch) => tx.execute(insertStatement(batch, batch.table, features.jsonb)).then(() => undefined);
    let folded: Folded;
    let workers = 0;
    if (wanted === 0) {
      folded = await foldHere(tx, sizes, write);
    } else {
      // The workers start after BEGIN IMMEDIATE above: no event can be appended from here to the
      // commit, so their snapshots of the log are the one this transaction sees.
      const ranges = await streamRanges(tx, wanted, logSize);
      workers = ranges.length;
      folded = await foldInWorkers(
        ranges.map((range) => ({ url: db.url, range, ...sizes, batchesAhead: BATCHES_AHEAD })),
        write,
      );
    }
    for (const index of indexes) await tx.execute(index);
    return { ...folded, workers };
  });
  // Timed to the end of the commit, which writes the new tables out.
  return { ...rebuilt, ms: Math.round(performance.now() - started) };
}

/**
 * Empties every projection table and drops their secondary indexes for the load, returning the
 * statements that make the indexes again: sorting once is cheaper than keeping them up to date row
 * by row. A full-text table is made anew: emptied row by row it would do the tokenizer's work backwards.
 */
async function emptyProjections(tx: Tx): Promise<string[]> {
  for (const table of PROJECTION_TABLES) {
    const ddl = String((await tx.execute({ sql: "SELECT sql FROM sqlite_master WHERE name = ?", args: [table] })).rows[0]?.sql ?? "");
    if (/^CREATE VIRTUAL TABLE/i.test(ddl)) {
      await tx.execute(`DROP TABLE ${table}`);
      await tx.execute(ddl);
    } else {
      await tx.execute(`DELETE FROM ${table}`);
    }
  }
  const indexes = await tx.execute({
    sql: `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
          AND tbl_name IN (SELECT value FROM json_each(?))`,
    args: [JSON.stringify(PROJECTION_TABLES)],
  });
  for (const index of indexes.rows) await tx.execute(`DROP INDEX "${String(index.name)}"`);
  return indexes.rows.map((index) => String(index.sql));
}

function canUseWorkers(db: Database): boolean {
  return db.embedded && !/^file::memory:|[?&]mode=memory/.test(db.url);
}

/** `logSize`: the last position, a good enough count of the events. */
function workersWorthIt(db: Database, logSize: number): number {
  if (!canUseWorkers(db) || logSize < WORKER_THRESHOLD) return 0;
  return Math.max(1, Math.min(availableParallelism(), MAX_WORKERS));
}

/**
 * Up to `count` ranges of whole streams with about as many events each, cut at the streams of the
 * events at even offsets in (stream, version) order.
 */
async function streamRanges(tx: Tx, count: number, logSize: number): Promise<StreamRange[]> {
  const cuts: string[] = [];
  for (let i = 1; i < count; i++) {
    const at = await tx.execute({
      sql: "SELECT stream FROM events ORDER BY stream, version LIMIT 1 OFFSET ?",
      args: [Math.floor((logSize * i) / count)],
    });
    const stream = at.rows[0] ? String(at.rows[0].stream) : null;
    if (stream !== null && stream > (cuts.at(-1) ?? "")) cuts.push(stream);
  }
  const starts = ["", ...cuts];
  return starts.map((from, i) => ({ from, to: starts[i + 1] ?? null }));
}

/** Read, fold and write on this thread, in the rebuild's own transaction. */
async function foldHere(tx: Tx, sizes: { pageSize: number; batchRows: number }, write: (batch: RowBatch) => Promise<void>): Promise<Folded> {
  const batches: RowBatch[] = [];
  const drain = async () => {
    for (const batch of batches.splice(0)) await write(batch);
  };
  const folded = await foldRange(tx, { from: "", to: null }, sizes, (batch) => batches.push(batch), drain);
  await drain();
  return folded;
}

/** What a worker (src/store/rebuild-worker.ts) is started with. */
export interface RebuildWorkerData {
  url: string;
  range: StreamRange;
  pageSize: number;
  batchRows: number;
  batchesAhead: number;
}

export type WorkerMessage =
  | { kind: "rows"; batch: RowBatch }
  | { kind: "done"; events: number; streams: number }
  | { kind: "failed"; code: ErrorCode | null; message: string };

/**
 * Reading and folding in worker threads, one per range, writing here: every batch a worker sends is
 * written in turn and acknowledged, and no worker gets more than `batchesAhead` batches ahead. Any
 * failure on either side ends the workers and fails the rebuild, whose transaction then rolls back.
 */
function foldInWorkers(jobs: RebuildWorkerData[], write: (batch: RowBatch) => Promise<void>): Promise<Folded> {
  // A plain-JS entry that runs the bundled worker (bin/build.js), as bin/cos.js runs the bundled CLI.
  const entry = join(packageRoot(), "bin", "rebuild-worker.js");
  const workers = jobs.map((workerData) => new Worker(entry, { workerData }));
  return new Promise((resolve, reject) => {
    let writes: Promise<void> = Promise.resolve();
    let settled = false;
    let running = workers.length;
    const total: Folded = { events: 0, streams: 0 };
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      for (const worker of workers) void worker.terminate();
      // Not before a write under way has returned: the transaction rolls back after this.
      const rejectNow = () => reject(error);
      writes.then(rejectNow, rejectNow);
    };
    for (const worker of workers) {
      let done = false;
      worker.on("message", (message: WorkerMessage) => {
        if (message.kind === "rows") {
          writes = writes.then(async () => {
            if (settled) return;
            await write(message.batch);
            worker.postMessage("ack");
          });
          writes.catch(fail);
        } else if (message.kind === "failed") {
          // Its message as it was, and a CosError stays one, so `cos rebuild` says what went wrong.
          fail(message.code ? new CosError(message.code, message.message) : new Error(`a rebuild worker failed: ${message.message}`));
        } else {
          done = true;
          total.events += message.events;
          total.streams += message.streams;
          void worker.terminate();
          if (--running > 0) return;
          writes.then(() => {
            if (settled) return;
            settled = true;
            resolve(total);
          }, fail);
        }
      });
      worker.on("error", fail);
      worker.on("exit", (code) => {
        if (!done) fail(new Error(`a rebuild worker stopped (exit code ${code}) before it finished`));
      });
    }
  });
}
