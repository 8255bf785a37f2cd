import { randomFillSync } from "node:crypto";
import type { InStatement, InValue, ResultSet } from "@libsql/client";
import type { NewEvent } from "../domain/events.ts";
import { ConflictError } from "../shared/errors.ts";
import type { Database } from "./db.ts";
import { appendTime, lastTimes, MAX_CLOCK_LAG_MS } from "./clock-check.ts";
import { guardStatement, streamAtVersion, type Guard } from "./guards.ts";
import { projectionStatements } from "./projection-writes.ts";
import { projectionFor, type AggregateProjection } from "./projections.ts";

export type { Guard } from "./guards.ts";

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

/** An event on its way into the log: everything but its position, which the store gives it. */
export type PendingEvent<D = unknown> = Omit<StoredEvent<D>, "position">;

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

/** What the statements an append hook adds may use: the events and each stream's state after them. */
export interface Appending {
  events: PendingEvent[];
  /** The folded state of each appended stream that has a projection, after these events. */
  states: ReadonlyMap<string, unknown>;
}

/** Extra writes in the appending batch (the outbox, the chat inbox's "handled" mark). */
export type AppendHook = (appending: Appending) => InStatement[] | Promise<InStatement[]>;

/** A stream as read: its events, its version, and its folded state (null without a projection). */
export interface LoadedStream<S = unknown> {
  stream: string;
  events: StoredEvent[];
  version: number;
  state: S | null;
}

const INSERT_CHUNK = 200;
const STATE_CACHE_SIZE = 5_000;
const EVENT_COLUMNS = "position, event_id, stream, version, type, data, meta";

interface CachedState {
  version: number;
  state: unknown;
  /** The time of the stream's last event (an append is never dated before it). */
  at: string | null;
  /** The state's projection rows, once computed: the next append compares its rows with these. */
  rows?: Record<string, InValue[][]>;
}

/** What each statement of an append batch is for, so a failed batch can say what went wrong. */
type Role = { kind: "ids" } | { kind: "clock" } | { kind: "guard"; guard: Guard } | { kind: "insert"; count: number } | { kind: "write" };

/**
 * The log, with its projections written inline. An append is one batch (one request to a remote
 * store, one transaction embedded): the checks of every version the decision was made on, the
 * events, the projection rows computed from the stream's state folded in memory, and the rows the
 * hooks add. A check that fails rolls the whole batch back, and the command layer decides again.
 */
export class EventStore {
  private readonly hooks: AppendHook[] = [];
  private readonly listeners: ((events: StoredEvent[]) => void)[] = [];
  private readonly changeListeners = new Set<() => void>();
  /**
   * The log's last position as this process last saw it, and whether a watcher keeps it current
   * (`cos serve`): then "nothing appended since" can be known without asking the store.
   */
  private head: { position: number; watched: boolean } = { position: 0, watched: false };

  /**
   * Folded states of recently read or appended streams, by version. A stream's events never change
   * once stored, so the state at version N is the same for every process: an append whose expected
   * version matches the cached one folds only its new events, and needs no read before its batch.
   */
  private readonly states = new Map<string, CachedState>();

  constructor(readonly db: Database) {}

  /** Adds statements to every append's batch. */
  onAppend(hook: AppendHook): void {
    this.hooks.push(hook);
  }

  /** Told after each append that committed, in this process: the resolver loop starts a pass at once. */
  onAppended(listener: (events: StoredEvent[]) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Told when the store may hold something new: after this process's appends, and whenever a watcher
   * of the store (`noticeChange`) saw another process write. Returns the unsubscribe function.
   */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Something changed in the store (another process appended, a row was written outside the log). */
  noticeChange(): void {
    for (const listener of this.changeListeners) listener();
  }

  /** A watcher of the store just saw the log end at `position`. */
  watchedAt(position: number): void {
    this.head = { position: Math.max(this.head.position, position), watched: true };
  }

  /** The log's last position, when a watcher keeps this process up to date with it; else null. */
  get watchedHead(): number | null {
    return this.head.watched ? this.head.position : null;
  }

  /** Stop trusting the watched head (the watcher stopped, or lost the store). */
  unwatch(): void {
    this.head = { ...this.head, watched: false };
  }

  private remember(stream: string, entry: CachedState): void {
    this.states.delete(stream);
    this.states.set(stream, entry);
    if (this.states.size > STATE_CACHE_SIZE) this.states.delete(this.states.keys().next().value!);
  }

  /**
   * Appends to one or more streams in one batch. `expectations` are streams read but not written;
   * `guards` are premises of the decision beyond stream versions (src/store/guards.ts); `statements`
   * are further writes of the same decision (a lease, a token). A ConflictError means a premise moved:
   * decide again on what is there now.
   */
  async append(
    appends: StreamAppend[],
    meta: EventMeta,
    expectations: StreamExpectation[] = [],
    { guards = [], statements: extra = [] }: { guards?: Guard[]; statements?: InStatement[] } = {},
  ): Promise<AppendResult> {
    const prepared = appends
      .filter((a) => a.events.length > 0)
      .map((a) => ({ ...a, eventIds: a.eventIds ?? a.events.map(() => newEventId()) }));
    const idempotent = prepared.some((a) => appends.find((b) => b.stream === a.stream)?.eventIds);

    const ids = prepared.flatMap((a) => a.eventIds);
    const bases = new Map<string, unknown>();
    const cachedRows = new Map<string, Record<string, InValue[][]>>();
    const lastAt = new Map<string, string>();
    const moved = await this.basesFor(prepared, bases, cachedRows, lastAt);
    if (moved) {
      if (idempotent) {
        const existing = await this.eventsById(ids);
        if (existing.length === ids.length) return { events: existing, duplicate: true };
        if (existing.length) throw new ConflictError(`event ids ${existing.map((e) => e.eventId).join(", ")} are stored already`);
      }
      throw new ConflictError(moved);
    }
    // Never dated before the events they follow (clock-check.ts); that the clock is not far behind the
    // log's newest event is checked in the batch.
    const at = appendTime(meta.at, { newest: null, streams: lastAt });
    const metaValue: EventMeta = { at, actor: meta.actor, causation: meta.causation ?? null };
    const metaJson = JSON.stringify(metaValue);
    const pending: PendingEvent[] = [];
    const pendingIndex = new Map<string, number>();
    for (const a of prepared) {
      a.events.forEach((event, i) => {
        pendingIndex.set(a.eventIds[i]!, pending.length);
        pending.push({ eventId: a.eventIds[i]!, stream: a.stream, version: a.expectedVersion + i + 1, type: event.type, data: event.data, meta: metaValue });
      });
    }

    const statements: InStatement[] = [];
    const roles: Role[] = [];
    const add = (statement: InStatement, role: Role) => {
      statements.push(statement);
      roles.push(role);
    };
    if (idempotent) {
      add(
        { sql: `INSERT INTO batch_guards (failed) SELECT 'event ids' WHERE EXISTS (SELECT 1 FROM events WHERE event_id IN (${ids.map(() => "?").join(",")}))`, args: ids },
        { kind: "ids" },
      );
    }
    add(
      {
        sql: `INSERT INTO batch_guards (failed) SELECT 'clock'
              WHERE (SELECT json_extract(meta, '$.at') FROM events ORDER BY position DESC LIMIT 1) > ?`,
        args: [new Date(Date.parse(meta.at) + MAX_CLOCK_LAG_MS).toISOString()],
      },
      { kind: "clock" },
    );
    const checks: Guard[] = [
      // An appended stream checks itself: its next version is unique, so it is taken if the stream
      // moved on. That it has not fallen behind either (a version expected that was never written) is
      // known for a projected stream, whose state at that version was read or appended here; any
      // other stream gets a check of its own.
      ...prepared.filter((a) => a.expectedVersion > 0 && !projectionFor(a.stream)).map((a) => streamAtVersion(a.stream, a.expectedVersion)),
      ...expectations.map((e) => streamAtVersion(e.stream, e.version)),
      ...guards,
    ];
    for (const guard of checks) add(guardStatement(guard), { kind: "guard", guard });

    for (let start = 0; start < pending.length; start += INSERT_CHUNK) {
      const chunk = pending.slice(start, start + INSERT_CHUNK);
      add(
        {
          sql: `INSERT INTO events (event_id, stream, version, type, data, meta) VALUES ${chunk.map(() => "(?,?,?,?,?,?)").join(",")}`,
          args: chunk.flatMap((e) => [e.eventId, e.stream, e.version, e.type, JSON.stringify(e.data), metaJson]),
        },
        { kind: "insert", count: chunk.length },
      );
    }

    // Each projected stream's rows, from its state before and after the new events. The positions
    // the events will get are not known yet: the state is folded with placeholders (-1, -2, …) that
    // the statements turn into a lookup of the event's position by its id.
    const after = new Map<string, unknown>();
    const afterRows = new Map<string, { rows: Record<string, InValue[][]>; placeholders: boolean }>();
    const placeholderId = (value: InValue): string | null => {
      const i = typeof value === "number" && value < 0 ? -value - 1 : -1;
      return i >= 0 && i < pending.length ? pending[i]!.eventId : null;
    };
    for (const a of prepared) {
      const projection = projectionFor(a.stream);
      if (!projection) continue;
      const before = bases.get(a.stream) ?? null;
      let state: unknown = before;
      try {
        for (const e of pending) {
          if (e.stream !== a.stream) continue;
          state = projection.evolve(state, { type: e.type, data: e.data, at: e.meta.at, position: -(pendingIndex.get(e.eventId)! + 1) });
        }
      } catch (error) {
        // Events that do not follow from the expected state: most likely the stream is not where the
        // decision thought (a new stream that exists already), which is a conflict, not a bug.
        throw (await this.versionConflict(prepared, expectations)) ?? error;
      }
      if (state === null) continue;
      after.set(a.stream, state);
      const beforeRows = before === null ? null : (cachedRows.get(a.stream) ?? projection.rows(before, a.stream));
      const rows = projection.rows(state, a.stream);
      afterRows.set(a.stream, { rows, placeholders: holdsPlaceholder(projection, rows, placeholderId) });
      for (const statement of projectionStatements(projection, beforeRows, rows, projection.key(state, a.stream), placeholderId)) add(statement, { kind: "write" });
    }
    for (const statement of extra) add(statement, { kind: "write" });
    for (const hook of this.hooks) {
      for (const statement of await hook({ events: pending, states: after })) add(statement, { kind: "write" });
    }

    let results: ResultSet[];
    try {
      results = await this.db.batch(statements);
    } catch (error) {
      const index = (error as { statementIndex?: number }).statementIndex;
      const role = typeof index === "number" ? roles[index] : undefined;
      // Only the checks and the event inserts speak of a decision gone stale; any other failure is one.
      if (!role || role.kind === "write" || !isConstraint(error)) throw error;
      return this.explainRefusal(role, ids, prepared, expectations, error, meta);
    }

    // Committed. The positions: each insert is one statement in a write transaction, so its rows'
    // positions are consecutive, ending at the last rowid.
    const stored: StoredEvent[] = [];
    let next = 0;
    roles.forEach((role, i) => {
      if (role.kind !== "insert") return;
      const last = Number(results[i]!.lastInsertRowid);
      for (let k = 0; k < role.count; k++) stored.push({ ...pending[next++]!, position: last - role.count + 1 + k });
    });
    for (const a of prepared) {
      const projection = projectionFor(a.stream);
      const written = afterRows.get(a.stream);
      if (!projection || !written) {
        this.remember(a.stream, { version: a.expectedVersion + a.events.length, state: null, at });
        continue;
      }
      const version = a.expectedVersion + a.events.length;
      // A state that holds no placeholder position is the state with the real ones; one that does
      // (a verdict's position) is folded again with them.
      if (!written.placeholders) {
        this.remember(a.stream, { version, state: after.get(a.stream), at, rows: written.rows });
        continue;
      }
      let state: unknown = bases.get(a.stream) ?? null;
      for (const e of stored) if (e.stream === a.stream) state = projection.evolve(state, { type: e.type, data: e.data, at: e.meta.at, position: e.position });
      this.remember(a.stream, { version, state, at });
    }
    const last = stored.at(-1)?.position ?? 0;
    if (last > this.head.position) this.head = { ...this.head, position: last };
    for (const listener of this.listeners) listener(stored);
    this.noticeChange();
    return { events: stored, duplicate: false };
  }

  /**
   * The state of each projected stream at the version its append expects, into `bases`: from the
   * cache (the usual case, since the decision read the stream through this store), else read in one
   * snapshot. Returns what moved when a stream is no longer at that version.
   */
  private async basesFor(
    appends: { stream: string; expectedVersion: number }[],
    bases: Map<string, unknown>,
    rows: Map<string, Record<string, InValue[][]>>,
    lastAt: Map<string, string>,
  ): Promise<string | null> {
    const missing: { stream: string; expectedVersion: number }[] = [];
    for (const a of appends) {
      if (a.expectedVersion === 0) continue;
      const cached = this.states.get(a.stream);
      if (cached && cached.version === a.expectedVersion) {
        bases.set(a.stream, cached.state);
        if (cached.rows) rows.set(a.stream, cached.rows);
        if (cached.at) lastAt.set(a.stream, cached.at);
      } else missing.push(a);
    }
    if (!missing.length) return null;
    const { streams } = await this.load(missing.map((m) => m.stream));
    for (const [i, m] of missing.entries()) {
      const loaded = streams[i]!;
      if (loaded.version !== m.expectedVersion) return `stream ${m.stream} is at version ${loaded.version}, expected ${m.expectedVersion}`;
      bases.set(m.stream, loaded.state);
      const last = loaded.events.at(-1)?.meta.at;
      if (last) lastAt.set(m.stream, last);
    }
    return null;
  }

  private async explainRefusal(
    role: Role,
    ids: string[],
    prepared: { stream: string; expectedVersion: number }[],
    expectations: StreamExpectation[],
    cause: unknown,
    meta: EventMeta,
  ): Promise<AppendResult> {
    if (role.kind === "clock") {
      // Throws the refusal that says how far behind this clock is; a log that moved back meanwhile is a conflict.
      appendTime(meta.at, await lastTimes(this.db, new Map()));
      throw new ConflictError("the log's newest event moved while this append was written");
    }
    if (role.kind === "ids") {
      const existing = await this.eventsById(ids);
      if (existing.length === ids.length) return { events: existing, duplicate: true };
      throw new ConflictError(`event ids ${existing.map((e) => e.eventId).join(", ")} are stored already`);
    }
    if (role.kind === "guard" && role.guard.stream === undefined) throw new ConflictError(`${role.guard.what} changed since it was read`);
    throw (
      (await this.versionConflict(prepared, expectations)) ??
      new ConflictError(`the append was refused (${(cause as Error).message}); a stream moved while it was being written`)
    );
  }

  /** The first stream that is not at the version the decision expected, as a ConflictError; null if none. */
  private async versionConflict(prepared: { stream: string; expectedVersion: number }[], expectations: StreamExpectation[]): Promise<ConflictError | null> {
    const checks = [...prepared.map((a) => ({ stream: a.stream, version: a.expectedVersion })), ...expectations];
    const versions = await this.streamVersions(checks.map((c) => c.stream));
    for (const check of checks) {
      const actual = versions.get(check.stream) ?? 0;
      if (actual !== check.version) return new ConflictError(`stream ${check.stream} is at version ${actual}, expected ${check.version}`);
    }
    return null;
  }

  /** The statement that reads a stream; `loaded` turns its result into a LoadedStream. */
  streamStatement(stream: string): InStatement {
    return { sql: `SELECT ${EVENT_COLUMNS} FROM events WHERE stream = ? ORDER BY version`, args: [stream] };
  }

  /** A stream's rows as read by `streamStatement`, folded (from the cached state where it can) and remembered. */
  loaded<S = unknown>(stream: string, result: ResultSet): LoadedStream<S> {
    const events = (result.rows as unknown as RawEvent[]).map(toStored);
    const version = events.length;
    const projection = projectionFor(stream);
    if (!projection) {
      if (version > 0) this.remember(stream, { version, state: null, at: events[version - 1]!.meta.at });
      return { stream, events, version, state: null };
    }
    const cached = this.states.get(stream);
    let state: unknown = null;
    let from = 0;
    if (cached && cached.version <= version) {
      state = cached.state;
      from = cached.version;
    }
    for (let i = from; i < version; i++) {
      const e = events[i]!;
      state = projection.evolve(state, { type: e.type, data: e.data, at: e.meta.at, position: e.position });
    }
    if (version > 0) this.remember(stream, { version, state, at: events[version - 1]!.meta.at });
    return { stream, events, version, state: state as S | null };
  }

  /**
   * Streams and other reads from one snapshot: one request to a remote store. The streams' states
   * are remembered, so an append decided on them needs no further read.
   */
  async load(streams: string[], queries: InStatement[] = [], reader: Pick<Database, "snapshot"> = this.db): Promise<{ streams: LoadedStream[]; results: ResultSet[] }> {
    const results = await reader.snapshot([...streams.map((s) => this.streamStatement(s)), ...queries]);
    return {
      streams: streams.map((s, i) => this.loaded(s, results[i]!)),
      results: results.slice(streams.length),
    };
  }

  async loadStream<S = unknown>(stream: string): Promise<LoadedStream<S>> {
    return this.loaded<S>(stream, await this.db.execute(this.streamStatement(stream)));
  }

  async readStream(stream: string): Promise<StoredEvent[]> {
    return (await this.loadStream(stream)).events;
  }

  async readAll(options: { after?: number; limit?: number; stream?: string } = {}): Promise<StoredEvent[]> {
    const where = ["position > ?"];
    const args: InValue[] = [options.after ?? 0];
    if (options.stream) {
      where.push("stream = ?");
      args.push(options.stream);
    }
    const rows = await this.db.query<RawEvent>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(" AND ")} ORDER BY position LIMIT ?`,
      [...args, options.limit ?? 1000],
    );
    return rows.map(toStored);
  }

  async lastPosition(): Promise<number> {
    const rows = await this.db.query<{ last: number | null }>("SELECT MAX(position) AS last FROM events");
    return Number(rows[0]?.last ?? 0);
  }

  private async eventsById(ids: string[]): Promise<StoredEvent[]> {
    const rows = await this.db.query<RawEvent>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE event_id IN (${ids.map(() => "?").join(",")}) ORDER BY position`,
      ids,
    );
    return rows.map(toStored);
  }

  private async streamVersions(streams: string[]): Promise<Map<string, number>> {
    const unique = [...new Set(streams)];
    const versions = new Map<string, number>();
    if (!unique.length) return versions;
    const rows = await this.db.query(
      `SELECT stream, MAX(version) AS version FROM events WHERE stream IN (${unique.map(() => "?").join(",")}) GROUP BY stream`,
      unique,
    );
    for (const row of rows) versions.set(String(row.stream), Number(row.version));
    return versions;
  }
}

const entropy = Buffer.alloc(10 * 256);
let entropyAt = entropy.length;

/**
 * A new event id: a UUID of version 7 (RFC 9562), its first 48 bits the time in milliseconds and the
 * rest random. Ids made one after another sort one after another, so the unique index on event ids
 * grows at its end instead of at a random page for every event (fewer pages written per append).
 */
export function newEventId(now = Date.now()): string {
  if (entropyAt >= entropy.length) {
    randomFillSync(entropy);
    entropyAt = 0;
  }
  const r = entropy.subarray(entropyAt, (entropyAt += 10));
  const time = now.toString(16).padStart(12, "0");
  const hex = r.toString("hex");
  const variant = ((r[2]! & 0x3f) | 0x80).toString(16).padStart(2, "0");
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${hex.slice(0, 3)}-${variant}${hex.slice(6, 8)}-${hex.slice(8, 20)}`;
}

/** Whether a table's position column holds a position not known yet (a placeholder of this append). */
function holdsPlaceholder(projection: AggregateProjection, rows: Record<string, InValue[][]>, placeholder: (value: InValue) => string | null): boolean {
  for (const table of projection.tables) {
    if (!table.positionColumn) continue;
    const at = table.columns.indexOf(table.positionColumn);
    if ((rows[table.name] ?? []).some((row) => placeholder(row[at]!) !== null)) return true;
  }
  return false;
}

function isConstraint(error: unknown): boolean {
  const code = String((error as { code?: string }).code ?? "");
  return code.startsWith("SQLITE_CONSTRAINT") || /constraint failed/i.test((error as Error).message ?? "");
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
