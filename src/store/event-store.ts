import { randomUUID } from "node:crypto";
import type { InStatement, InValue } from "@libsql/client";
import type { NewEvent } from "../domain/events.ts";
import { ConflictError } from "../shared/errors.ts";
import type { Database, Tx } from "./db.ts";
import { appendTime, lastTimes } from "./clock-check.ts";
import { projectionFor, type TableSpec } from "./projections.ts";

export interface EventMeta {
  at: string;
  actor: string;
  causation?: string | null;
}

export interface StoredEvent<D = unknown> {
  position: number;
  eventId: string;
  stream: string;
  version: number;
  type: string;
  data: D;
  meta: EventMeta;
}

export interface StreamAppend {
  stream: string;
  /** The version the decision was made on: 0 for a stream that must not exist yet. */
  expectedVersion: number;
  events: NewEvent[];
  /** Fixed ids make a retried append idempotent: if they are stored already, nothing is written again. */
  eventIds?: string[];
}

/** A stream the decision read but does not write: the append fails if it moved meanwhile. */
export interface StreamExpectation {
  stream: string;
  version: number;
}

export interface AppendResult {
  events: StoredEvent[];
  /** True when every event id was already stored: a retry of an append that went through. */
  duplicate: boolean;
}

/** Extra writes in the appending transaction (the outbox, later). */
export type AfterAppend = (tx: Tx, events: StoredEvent[]) => Promise<void>;

const INSERT_CHUNK = 200;
const STATE_CACHE_SIZE = 5_000;

interface CachedState {
  version: number;
  state: unknown;
}

export class EventStore {
  private readonly afterAppend: AfterAppend[] = [];

  constructor(readonly db: Database) {}

  onAppend(hook: AfterAppend): void {
    this.afterAppend.push(hook);
  }

  /**
   * Appends to one or more streams in one transaction: checks every expected version, inserts the
   * events in one statement, and rewrites the projections of the streams it touched before commit.
   */
  append(appends: StreamAppend[], meta: EventMeta, expectations: StreamExpectation[] = []): Promise<AppendResult> {
    return this.transaction((tx) => this.appendIn(tx, appends, meta, expectations));
  }

  /**
   * Read, decide and append in one write transaction, for decisions that span many streams (a
   * resolver pass): nothing another process appends can slip in between the reads and the writes.
   */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    let folded: Map<string, CachedState> | undefined;
    const result = await this.db.write(async (tx) => {
      folded = new Map();
      this.pendingStates.set(tx, folded);
      try {
        return await work(tx);
      } finally {
        this.pendingStates.delete(tx);
      }
    });
    // Committed: the states folded in it are now the truth at their versions.
    for (const [stream, entry] of folded ?? []) this.remember(stream, entry);
    return result;
  }

  /**
   * Folded states of recently appended streams, by version. A stream's events never change once
   * stored, so the state at version N is the same for every process; an append whose expected
   * version matches the cached one folds only its new events instead of reading the stream back.
   */
  private readonly states = new Map<string, CachedState>();
  private readonly pendingStates = new WeakMap<Tx, Map<string, CachedState>>();

  private remember(stream: string, entry: CachedState): void {
    this.states.delete(stream);
    this.states.set(stream, entry);
    if (this.states.size > STATE_CACHE_SIZE) this.states.delete(this.states.keys().next().value!);
  }

  /** The append itself, inside a transaction the caller holds. */
  async appendIn(
    tx: Tx,
    appends: StreamAppend[],
    meta: EventMeta,
    expectations: StreamExpectation[] = [],
  ): Promise<AppendResult> {
    const prepared = appends.map((a) => ({
      ...a,
      eventIds: a.eventIds ?? a.events.map(() => randomUUID()),
    }));
    const ids = prepared.flatMap((a) => a.eventIds);
    if (ids.length && appends.some((a) => a.eventIds)) {
      const existing = await storedEventsById(tx, ids);
      if (existing.length === ids.length) return { events: existing, duplicate: true };
      if (existing.length > 0) {
        throw new ConflictError(`event ids ${existing.map((e) => e.eventId).join(", ")} are stored already`);
      }
    }
    const checks = [...prepared.map((a) => ({ stream: a.stream, version: a.expectedVersion })), ...expectations];
    const versions = await streamVersions(tx, checks.map((c) => c.stream));
    for (const check of checks) {
      const actual = versions.get(check.stream) ?? 0;
      if (actual !== check.version) {
        throw new ConflictError(`stream ${check.stream} is at version ${actual}, expected ${check.version}`);
      }
    }

    // Never dated before the events they follow, nor by a clock far behind the log (clock-check.ts).
    const at = appendTime(meta.at, await lastTimes(tx, new Map(prepared.filter((a) => a.events.length).map((a) => [a.stream, a.expectedVersion]))));
    const metaJson = JSON.stringify({ at, actor: meta.actor, causation: meta.causation ?? null });
    const rows: InValue[][] = [];
    for (const a of prepared) {
      a.events.forEach((event, i) => {
        rows.push([a.eventIds[i]!, a.stream, a.expectedVersion + i + 1, event.type, JSON.stringify(event.data), metaJson]);
      });
    }
    const stored: StoredEvent[] = [];
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const chunk = rows.slice(start, start + INSERT_CHUNK);
      const result = await tx.execute({
        sql: `INSERT INTO events (event_id, stream, version, type, data, meta) VALUES ${chunk.map(() => "(?,?,?,?,?,?)").join(",")}`,
        args: chunk.flat(),
      });
      // One statement in a write transaction: the positions are consecutive, ending at the last rowid.
      const last = Number(result.lastInsertRowid);
      chunk.forEach((row, i) => {
        stored.push({
          position: last - chunk.length + 1 + i,
          eventId: row[0] as string,
          stream: row[1] as string,
          version: row[2] as number,
          type: row[3] as string,
          data: JSON.parse(row[4] as string),
          meta: { at, actor: meta.actor, causation: meta.causation ?? null },
        });
      });
    }
    const pending = this.pendingStates.get(tx);
    for (const a of prepared) {
      if (!a.events.length) continue;
      const cached = this.states.get(a.stream);
      const fresh = stored.filter((e) => e.stream === a.stream);
      const base = cached && cached.version === a.expectedVersion ? cached : null;
      const folded = await projectStream(tx, a.stream, fresh, base);
      if (folded && pending) pending.set(a.stream, folded);
    }
    for (const hook of this.afterAppend) await hook(tx, stored);
    return { events: stored, duplicate: false };
  }

  async readStream(stream: string): Promise<StoredEvent[]> {
    const rows = await this.db.query<RawEvent>(
      "SELECT position, event_id, stream, version, type, data, meta FROM events WHERE stream = ? ORDER BY version",
      [stream],
    );
    return rows.map(toStored);
  }

  async readAll(options: { after?: number; limit?: number; stream?: string } = {}): Promise<StoredEvent[]> {
    const where = ["position > ?"];
    const args: InValue[] = [options.after ?? 0];
    if (options.stream) {
      where.push("stream = ?");
      args.push(options.stream);
    }
    const rows = await this.db.query<RawEvent>(
      `SELECT position, event_id, stream, version, type, data, meta FROM events WHERE ${where.join(" AND ")} ORDER BY position LIMIT ?`,
      [...args, options.limit ?? 1000],
    );
    return rows.map(toStored);
  }

  async lastPosition(): Promise<number> {
    const rows = await this.db.query<{ last: number | null }>("SELECT MAX(position) AS last FROM events");
    return Number(rows[0]?.last ?? 0);
  }
}

/** A stream's events as seen inside a transaction the caller holds. */
export async function readStreamIn(tx: Tx, stream: string): Promise<StoredEvent[]> {
  const result = await tx.execute({
    sql: "SELECT position, event_id, stream, version, type, data, meta FROM events WHERE stream = ? ORDER BY version",
    args: [stream],
  });
  return (result.rows as unknown as RawEvent[]).map(toStored);
}

interface RawEvent {
  position: number;
  event_id: string;
  stream: string;
  version: number;
  type: string;
  data: string;
  meta: string;
}

function toStored(row: RawEvent): StoredEvent {
  return {
    position: Number(row.position),
    eventId: row.event_id,
    stream: row.stream,
    version: Number(row.version),
    type: row.type,
    data: JSON.parse(row.data),
    meta: JSON.parse(row.meta),
  };
}

async function storedEventsById(tx: Tx, ids: string[]): Promise<StoredEvent[]> {
  const result = await tx.execute({
    sql: `SELECT position, event_id, stream, version, type, data, meta FROM events WHERE event_id IN (${ids.map(() => "?").join(",")}) ORDER BY position`,
    args: ids,
  });
  return (result.rows as unknown as RawEvent[]).map(toStored);
}

async function streamVersions(tx: Tx, streams: string[]): Promise<Map<string, number>> {
  const unique = [...new Set(streams)];
  const versions = new Map<string, number>();
  if (!unique.length) return versions;
  const result = await tx.execute({
    sql: `SELECT stream, MAX(version) AS version FROM events WHERE stream IN (${unique.map(() => "?").join(",")}) GROUP BY stream`,
    args: unique,
  });
  for (const row of result.rows) versions.set(String(row.stream), Number(row.version));
  return versions;
}

/**
 * Folds the stream and brings its projection rows up to date. The rows before the new events and
 * after them are compared table by table: an unchanged table is left alone, one that only grew gets
 * the new rows inserted, and anything else is rewritten. The result is the same rows `rebuild`
 * writes, with a fraction of the statements (most appends touch one row and add one).
 */
async function projectStream(
  tx: Tx,
  stream: string,
  added: StoredEvent[],
  cached: CachedState | null,
): Promise<CachedState | null> {
  const projection = projectionFor(stream);
  if (!projection) return null;
  let before: unknown = null;
  let after: unknown = null;
  if (cached) {
    before = cached.state;
    after = before;
    for (const e of added) after = projection.evolve(after, { type: e.type, data: e.data, at: e.meta.at, position: e.position });
  } else {
    const result = await tx.execute({
      sql: `SELECT json_group_array(json_array(position, type, json(data), json_extract(meta, '$.at'))) AS events
            FROM (SELECT position, type, data, meta FROM events WHERE stream = ? ORDER BY version)`,
      args: [stream],
    });
    const events = JSON.parse(String(result.rows[0]?.events ?? "[]")) as [number, string, unknown, string][];
    events.forEach(([position, type, data, at], i) => {
      after = projection.evolve(after, { type, data, at, position });
      if (i === events.length - added.length - 1) before = after;
    });
  }
  if (after === null) return null;
  const key = projection.key(after, stream);
  const oldRows = before === null ? null : projection.rows(before, stream);
  const newRows = projection.rows(after, stream);
  for (const table of projection.tables) {
    const next = newRows[table.name] ?? [];
    const prev = oldRows?.[table.name] ?? [];
    const unchanged = (a: InValue[], b: InValue[] | undefined) => b !== undefined && a.length === b.length && a.every((v, j) => v === b[j]);
    const grewOnly = oldRows !== null && prev.length <= next.length && prev.every((row, j) => unchanged(row, next[j]));
    if (grewOnly && prev.length === next.length) continue;
    if (table.singleRow && next.length === 1) {
      // A table with one row per aggregate, keyed by it: replace in one statement.
      await tx.execute({ sql: `INSERT OR REPLACE INTO ${table.name} (${table.columns.join(",")}) VALUES (${table.columns.map(() => "?").join(",")})`, args: next[0]! });
      continue;
    }
    const fresh = grewOnly ? next.slice(prev.length) : next;
    if (!grewOnly && oldRows !== null) await tx.execute({ sql: `DELETE FROM ${table.name} WHERE ${table.key} = ?`, args: [key] });
    for (const statement of insertRows(table, fresh)) await tx.execute(statement);
  }
  return { version: (added.at(-1)?.version ?? 0), state: after };
}

function insertRows(table: TableSpec, rows: InValue[][]): InStatement[] {
  const statements: InStatement[] = [];
  const placeholders = `(${table.columns.map(() => "?").join(",")})`;
  const perStatement = Math.max(1, Math.floor(30_000 / table.columns.length));
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    statements.push({
      sql: `INSERT INTO ${table.name} (${table.columns.join(",")}) VALUES ${chunk.map(() => placeholders).join(",")}`,
      args: chunk.flat(),
    });
  }
  return statements;
}
