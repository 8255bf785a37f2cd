import type { InStatement, InValue } from "@libsql/client";
import { CosError, MisconfiguredError } from "../shared/errors.ts";
import { compareVersions } from "../shared/versions.ts";
import type { Database, Executor } from "./db.ts";
import { PROJECTIONS, projectionFor, type AggregateProjection, type TableSpec } from "./projections.ts";

// Folding the log into projection rows, and writing them: what every rebuild shares, whether it runs in
// one transaction here, in worker threads (rebuild.ts, rebuild-worker.ts) or in pages beside the live
// tables on a remote store (shadow.ts).

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
    private readonly batchRows: number,
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

