import { randomUUID } from "node:crypto";
import type { InStatement, InValue } from "@libsql/client";
import type { EventEnvelope, NewEvent } from "../domain/events.ts";
import { ConflictError } from "../shared/errors.ts";
import type { Database, Tx } from "./db.ts";
import { PROJECTION_TABLES, PROJECTIONS, projectionFor, type AggregateProjection } from "./projections.ts";

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
    return this.db.write((tx) => this.appendIn(tx, appends, meta, expectations));
  }

  /**
   * Read, decide and append in one write transaction, for decisions that span many streams (a
   * resolver pass): nothing another process appends can slip in between the reads and the writes.
   */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.write(work);
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
    const metaJson = JSON.stringify({ at: meta.at, actor: meta.actor, causation: meta.causation ?? null });
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
        sql: `INSERT INTO events (event_id, stream, version, type, data, meta) VALUES ${chunk.map(() => "(?,?,?,?,?,?)").join(",")} RETURNING position`,
        args: chunk.flat(),
      });
      chunk.forEach((row, i) => {
        stored.push({
          position: Number(result.rows[i]!.position),
          eventId: row[0] as string,
          stream: row[1] as string,
          version: row[2] as number,
          type: row[3] as string,
          data: JSON.parse(row[4] as string),
          meta: JSON.parse(metaJson),
        });
      });
    }
    for (const stream of new Set(prepared.filter((a) => a.events.length).map((a) => a.stream))) {
      await projectStream(tx, stream);
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

/** Folds the whole stream and rewrites its projection rows. */
async function projectStream(tx: Tx, stream: string): Promise<void> {
  const projection = projectionFor(stream);
  if (!projection) return;
  const result = await tx.execute({
    sql: "SELECT position, type, data, meta FROM events WHERE stream = ? ORDER BY version",
    args: [stream],
  });
  let state: unknown = null;
  for (const row of result.rows) {
    state = projection.evolve(state, envelope(Number(row.position), String(row.type), String(row.data), String(row.meta)));
  }
  if (state === null) return;
  const key = projection.key(state);
  const statements: InStatement[] = projection.tables.map((t) => ({ sql: `DELETE FROM ${t.name} WHERE ${t.key} = ?`, args: [key] }));
  statements.push(...insertStatements(projection, [state]));
  for (const statement of statements) await tx.execute(statement);
}

function envelope(position: number, type: string, data: string, meta: string): EventEnvelope {
  return { type, data: JSON.parse(data), at: (JSON.parse(meta) as EventMeta).at, position };
}

function insertStatements(projection: AggregateProjection, states: unknown[]): InStatement[] {
  const statements: InStatement[] = [];
  for (const table of projection.tables) {
    const rows = states.flatMap((s) => projection.rows(s)[table.name] ?? []);
    const placeholders = `(${table.columns.map(() => "?").join(",")})`;
    const perStatement = Math.max(1, Math.floor(30_000 / table.columns.length));
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement);
      statements.push({
        sql: `INSERT INTO ${table.name} (${table.columns.join(",")}) VALUES ${chunk.map(() => placeholders).join(",")}`,
        args: chunk.flat(),
      });
    }
  }
  return statements;
}

export interface RebuildReport {
  events: number;
  streams: number;
  ms: number;
}

/**
 * Replays the whole log into empty projection tables in one transaction: readers see the old
 * tables or the new ones, never a half-built set.
 */
export async function rebuildProjections(db: Database, pageSize = 50_000): Promise<RebuildReport> {
  const started = performance.now();
  return db.write(async (tx) => {
    for (const table of PROJECTION_TABLES) await tx.execute(`DELETE FROM ${table}`);
    const states = new Map<string, { projection: AggregateProjection; state: unknown }>();
    let after = 0;
    let count = 0;
    for (;;) {
      const page = await tx.execute({
        sql: "SELECT position, stream, type, data, meta FROM events WHERE position > ? ORDER BY position LIMIT ?",
        args: [after, pageSize],
      });
      for (const row of page.rows) {
        const stream = row.stream as string;
        let entry = states.get(stream);
        if (!entry) {
          const projection = projectionFor(stream);
          if (!projection) continue;
          entry = { projection, state: null };
          states.set(stream, entry);
        }
        entry.state = entry.projection.evolve(
          entry.state,
          envelope(Number(row.position), row.type as string, row.data as string, row.meta as string),
        );
      }
      count += page.rows.length;
      if (page.rows.length < pageSize) break;
      after = Number(page.rows[page.rows.length - 1]!.position);
    }
    for (const projection of PROJECTIONS) {
      const mine = [...states.values()].filter((e) => e.projection === projection).map((e) => e.state);
      for (const statement of insertStatements(projection, mine)) await tx.execute(statement);
    }
    return { events: count, streams: states.size, ms: Math.round(performance.now() - started) };
  });
}
