import { join } from "node:path";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { InStatement, InValue } from "@libsql/client";
import { CosError, MisconfiguredError, type ErrorCode } from "../shared/errors.ts";
import { packageRoot } from "../shared/paths.ts";
import type { Database, Executor, Tx } from "./db.ts";
import { PROJECTIONS, PROJECTION_TABLES, projectionFor, type AggregateProjection, type TableSpec } from "./projections.ts";

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

/** A page of the log, column by column: the i-th event is streams[i], versions[i], … */
export interface LogPage {
  streams: string[];
  versions: number[];
  positions: number[];
  types: string[];
  data: unknown[];
  ats: string[];
}

/** Streams from `from` (inclusive; "" is the first) to `to` (exclusive; null: to the end). */
export interface StreamRange {
  from: string;
  to: string | null;
  /** Only events at or before this position (a paged rebuild reads the log as it was when it began). */
  upTo?: number;
}

/** Rows for one table, as the JSON text the insert statement unpacks. */
export interface RowBatch {
  table: string;
  json: string;
}

export interface Folded {
  events: number;
  streams: number;
}

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

const tablesByName = new Map(PROJECTIONS.flatMap((p) => p.tables.map((t) => [t.name, t] as const)));

/** What the store's SQLite can do that a rebuild cares about. */
export interface SqliteFeatures {
  version: string;
  /** jsonb() (3.45): rows are parsed once per batch instead of once per column. */
  jsonb: boolean;
}

/** The oldest SQLite a store may run: the `->>` operator came in 3.38.0 (2022). */
export const MIN_SQLITE = "3.38.0";

/**
 * The store's SQLite version and what follows from it. A server older than MIN_SQLITE is refused
 * with the version it has and the one it needs.
 */
export async function sqliteFeatures(db: Pick<Database, "query" | "displayUrl">): Promise<SqliteFeatures> {
  const version = String((await db.query<{ v: string }>("SELECT sqlite_version() AS v"))[0]?.v ?? "0");
  if (compareVersions(version, MIN_SQLITE) < 0) {
    throw new MisconfiguredError(
      `the store at COS_DB_URL=${db.displayUrl} runs SQLite ${version}; cos needs SQLite ${MIN_SQLITE} or newer (sqld and Turso ship one)`,
    );
  }
  return { version, jsonb: compareVersions(version, "3.45.0") >= 0 };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * One statement per batch, its rows one JSON parameter: binding values one by one costs about a
 * microsecond each, and a rebuild binds millions. Where the store has jsonb() (SQLite 3.45), each
 * row is made JSONB once (MATERIALIZED), so the columns are picked out of it without parsing the row's
 * text again for every one of them; an older store parses the text per column, slower but the same rows.
 * `into` is the table written (a shadow table of a paged rebuild), by default the batch's own.
 */
export function insertStatement(batch: RowBatch, into: string, jsonb: boolean): InStatement {
  const table = tablesByName.get(batch.table);
  if (!table) throw new Error(`no projection table ${batch.table}`);
  const row = jsonb ? "jsonb(value)" : "value";
  return {
    sql: `INSERT INTO ${into} (${table.columns.join(",")})
          WITH r AS MATERIALIZED (SELECT ${row} AS v FROM json_each(?))
          SELECT ${table.columns.map((_, i) => `v->>${i}`).join(", ")} FROM r`,
    args: [batch.json],
  };
}

/**
 * The next page of the log in (stream, version) order, after `cursor` and before the stream `to`.
 * SQLite packs each column into one JSON text (parsing a few long texts is much faster than the
 * client building a row object per event), and the data column, JSON already, is spliced in as it is
 * rather than parsed again.
 */
async function readPage(tx: Executor, cursor: [string, number], range: StreamRange, pageSize: number): Promise<LogPage> {
  const { to, upTo } = range;
  const result = await tx.execute({
    sql: `SELECT json_group_array(stream) AS streams, '[' || group_concat(version) || ']' AS versions,
                 '[' || group_concat(position) || ']' AS positions, json_group_array(type) AS types,
                 '[' || group_concat(data) || ']' AS data, json_group_array(meta->>'at') AS ats
          FROM (SELECT stream, version, position, type, data, meta FROM events
                WHERE (stream, version) > (?, ?) ${to === null ? "" : "AND stream < ?"} ${upTo === undefined ? "" : "AND position <= ?"}
                ORDER BY stream, version LIMIT ?)`,
    args: [cursor[0], cursor[1], ...(to === null ? [] : [to]), ...(upTo === undefined ? [] : [upTo]), pageSize],
  });
  const row = result.rows[0];
  // An empty page: group_concat gives NULL, so '[' || NULL || ']' is NULL too, read as [].
  const column = <T>(name: string): T[] => JSON.parse(String(row?.[name] ?? "[]")) as T[];
  const streams = column<string>("streams");
  let data: unknown[];
  try {
    data = column<unknown>("data");
  } catch (error) {
    throw await unreadableData(tx, cursor, error);
  }
  return {
    streams,
    versions: column<number>("versions"),
    positions: column<number>("positions"),
    types: column<string>("types"),
    data,
    ats: column<string>("ats"),
  };
}

/** Reads a range of the log page by page, handing each page to `take`, which may wait before the next. */
async function readLog(tx: Executor, range: StreamRange, pageSize: number, take: (page: LogPage) => Promise<void>): Promise<void> {
  let cursor: [string, number] = [range.from, 0];
  for (;;) {
    const page = await readPage(tx, cursor, range, pageSize);
    const count = page.streams.length;
    await take(page);
    if (count < pageSize) return;
    cursor = [page.streams[count - 1]!, page.versions[count - 1]!];
  }
}

/** The event whose data is not JSON, named, so that the one who has to repair the log knows where. */
async function unreadableData(tx: Executor, cursor: [string, number], cause: unknown): Promise<CosError> {
  const bad = await tx.execute({
    sql: `SELECT position, stream, version FROM events WHERE (stream, version) > (?, ?) AND NOT json_valid(data)
          ORDER BY stream, version LIMIT 1`,
    args: cursor,
  });
  const where = bad.rows[0] ? `event ${bad.rows[0].position} (${bad.rows[0].stream} version ${bad.rows[0].version})` : "an event";
  return new CosError("internal", `cannot rebuild: the data of ${where} is not JSON; nothing was changed`, { cause });
}

/**
 * Folds pages of the log, in (stream, version) order, into projection rows, and hands them out in
 * batches per table. A batch is sorted by the table's leading key column (the aggregate's id) first:
 * stream order is text order (task-1, task-10, task-100, …), and rows in key order go into the
 * tables' B-trees at a few points instead of all over, and into the full-text index without forcing
 * it to flush a segment each time the rowid goes down.
 */
class ProjectionFolder {
  events = 0;
  streams = 0;
  private current: { stream: string; projection: AggregateProjection | undefined; state: unknown } | null = null;
  private readonly buffers = new Map<TableSpec, InValue[][]>();

  constructor(
    private readonly emit: (batch: RowBatch) => void,
    private readonly batchRows = BATCH_ROWS,
  ) {}

  add(page: LogPage): void {
    const { streams, positions, types, data, ats } = page;
    for (let i = 0; i < streams.length; i++) {
      const stream = streams[i]!;
      let current = this.current;
      if (current?.stream !== stream) {
        this.finishStream();
        current = this.current = { stream, projection: projectionFor(stream), state: null };
      }
      if (current.projection) current.state = current.projection.evolve(current.state, { type: types[i]!, data: data[i], at: ats[i]!, position: positions[i]! });
    }
    this.events += streams.length;
  }

  /** After the last page: the last stream's rows, and every row still buffered. */
  finish(): void {
    this.finishStream();
    this.current = null;
    for (const [table, rows] of this.buffers) this.flush(table, rows);
  }

  private finishStream(): void {
    const current = this.current;
    if (!current?.projection || current.state === null) return;
    this.streams++;
    const rows = current.projection.rows(current.state, current.stream);
    for (const table of current.projection.tables) {
      const incoming = rows[table.name];
      if (!incoming?.length) continue;
      let buffer = this.buffers.get(table);
      if (!buffer) this.buffers.set(table, (buffer = []));
      for (const row of incoming) buffer.push(row);
      if (buffer.length >= this.batchRows) this.flush(table, buffer);
    }
  }

  private flush(table: TableSpec, rows: InValue[][]): void {
    if (!rows.length) return;
    // Stable: the rows of one aggregate keep their order.
    rows.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
    this.emit({ table: table.name, json: JSON.stringify(rows) });
    rows.length = 0;
  }
}

/**
 * Reads a range of the log and folds it, handing each batch of rows to `emit` as it fills; after each
 * page, `between` may wait (for the batches to be written) before the next page is read.
 */
export async function foldRange(
  tx: Executor,
  range: StreamRange,
  { pageSize, batchRows }: { pageSize: number; batchRows: number },
  emit: (batch: RowBatch) => void,
  between: () => Promise<void>,
): Promise<Folded> {
  const folder = new ProjectionFolder(emit, batchRows);
  await readLog(tx, range, pageSize, async (page) => {
    folder.add(page);
    await between();
  });
  folder.finish();
  return { events: folder.events, streams: folder.streams };
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
