import { watch as watchFiles, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { InStatement } from "@libsql/client";
import { systemTimers, type Timers } from "../shared/clock.ts";
import { CosError, toCosError } from "../shared/errors.ts";
import type { EventStore } from "./event-store.ts";

/** A new entry of the log, as the watch sees it. */
export interface LogEntry {
  position: number;
  type: string;
}

export interface WatchOptions {
  /** A remote store: how often the log's head is read (one cheap request). Default 1 s. */
  intervalMs?: number;
  /** An embedded file: the file system says when it changed; this is only the fallback look. Default 5 s. */
  fallbackMs?: number;
  /** Writes that go with the next look at the head (runners' presence), so they cost no request of their own. */
  extras?: () => InStatement[];
  /** New entries of the log, in order, appended by any process. */
  onEntries?: (entries: LogEntry[]) => void;
  /** The store answers again after it could not be reached. */
  onBack?: () => void;
  log?: (line: string) => void;
  /** The timers of the looks and the back-off; tests move them by hand. */
  timers?: Timers;
}

const PAGE = 1000;
const MAX_BACKOFF_MS = 30_000;
/**
 * After the file changed, looks again this long after (ms): a writer appends its frames to the WAL
 * (the change we are told of) before it publishes the commit in the shared index (which we are not
 * told of), so the first look may come a moment too early.
 */
const SETTLE_MS = [2, 10, 50];
/** Read with every look, in the same request: whether anything is open that time alone can move. */
const OPEN_TASKS = "SELECT COUNT(*) AS open FROM tasks WHERE status IN ('queued', 'dispatched', 'running', 'review')";

/**
 * Keeps a long-lived process (`cos serve`) up to date with the log without asking the store more
 * than it must: on a remote store one read of the log after the last position it saw, once a
 * second (an idle store answers with no rows); on an embedded file, a look each time the database
 * or its WAL changes on disk. Tells the store (`noticeChange`) and `onEntries` what it found.
 *
 * While the store cannot be reached it backs off (1 s, 2 s, 4 s … 30 s), says so once, and says once
 * when the store is back.
 */
export class StoreWatch {
  private cursor = 0;
  private cancelTimer: (() => void) | null = null;
  private files: FSWatcher | null = null;
  private looking: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private downSince: number | null = null;
  private failures = 0;
  private settling: (() => void)[] = [];
  private open: number | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly options: WatchOptions = {},
  ) {}

  /** Starts watching from the log's current end; resolves once the first look is done. */
  async start(): Promise<void> {
    const db = this.store.db;
    if (db.embedded) this.watchFile(db.url);
    await this.look(true);
  }

  /** The last position seen. */
  get position(): number {
    return this.cursor;
  }

  /**
   * How many tasks were open (queued, dispatched, running, in review) at the last look; null before
   * one. With none, nothing can fall due with the passing of time (a lease, a review timer, a
   * cooldown): the minute's pass can be left out, and an idle store costs only the looks.
   */
  get openTasks(): number | null {
    return this.open;
  }

  /** Look now (or right after the look under way). */
  poke(): void {
    if (this.stopped) return;
    if (this.looking) {
      this.again = true;
      return;
    }
    this.cancelTimer?.();
    this.cancelTimer = null;
    void this.look(false);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    for (const cancel of this.settling.splice(0)) cancel();
    this.files?.close();
    this.store.unwatch();
    await this.looking;
  }

  private watchFile(url: string): void {
    const path = decodeURIComponent(url.slice("file:".length).split("?")[0]!);
    const name = basename(path);
    try {
      // The folder, not the file: the WAL comes and goes, and a checkpoint rewrites the database.
      this.files = watchFiles(dirname(path), (_event, file) => {
        if (file !== null && file !== name && file !== `${name}-wal`) return;
        this.poke();
        const timers = this.options.timers ?? systemTimers;
        for (const cancel of this.settling.splice(0)) cancel();
        this.settling = SETTLE_MS.map((ms) => timers.after(ms, () => this.poke()));
      });
      this.files.on("error", () => this.files?.close());
    } catch {
      this.files = null; // no file events here (some network file systems): the fallback look remains
    }
  }

  private look(first: boolean): Promise<void> {
    this.looking = (async () => {
      do {
        this.again = false;
        await this.lookOnce(first);
        first = false;
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.looking = null;
      this.schedule();
    });
    return this.looking;
  }

  private schedule(): void {
    if (this.stopped) return;
    const base = this.store.db.embedded ? (this.options.fallbackMs ?? 5_000) : (this.options.intervalMs ?? 1_000);
    const wait = this.downSince === null ? base : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.failures - 1, 5));
    this.cancelTimer?.();
    this.cancelTimer = (this.options.timers ?? systemTimers).after(wait, () => {
      this.cancelTimer = null;
      void this.look(false);
    });
  }

  private async lookOnce(first: boolean): Promise<void> {
    const db = this.store.db;
    try {
      if (first) {
        const rows = await db.query<{ head: number | null }>("SELECT MAX(position) AS head FROM events");
        this.cursor = Number(rows[0]?.head ?? 0);
        this.open = null;
        this.store.watchedAt(this.cursor);
        this.back();
        return;
      }
      for (;;) {
        const extras = this.options.extras?.() ?? [];
        const reads: InStatement[] = [{ sql: `SELECT position, type FROM events WHERE position > ? ORDER BY position LIMIT ${PAGE}`, args: [this.cursor] }, OPEN_TASKS];
        const results = await (extras.length ? db.batch([...extras, ...reads]) : db.snapshot(reads));
        const [entries, open] = results.slice(-2);
        this.open = Number(open!.rows[0]?.open ?? 0);
        const rows = entries!.rows.map((r) => ({ position: Number(r.position), type: String(r.type) }));
        this.back();
        if (rows.length) this.cursor = rows.at(-1)!.position;
        this.store.watchedAt(this.cursor);
        if (!rows.length) return;
        this.store.noticeChange();
        this.options.onEntries?.(rows);
        if (rows.length < PAGE) return;
      }
    } catch (error) {
      const cos = toCosError(error);
      this.failures++;
      if (cos.code === "unavailable" || cos.code === "misconfigured") {
        if (this.downSince === null) {
          this.downSince = this.now();
          this.store.unwatch();
          this.options.log?.(`${cos.message}; trying again, backing off to every ${MAX_BACKOFF_MS / 1000} s`);
        }
        return;
      }
      if (!(error instanceof CosError) || this.failures === 1) this.options.log?.(`watching the store: ${cos.message}`);
    }
  }

  private now(): number {
    return (this.options.timers ?? systemTimers).now();
  }

  private back(): void {
    this.failures = 0;
    if (this.downSince === null) return;
    const seconds = Math.round((this.now() - this.downSince) / 1000);
    this.downSince = null;
    this.options.log?.(`the store at COS_DB_URL=${this.store.db.displayUrl} is back (away for ${seconds} s)`);
    this.options.onBack?.();
  }
}
