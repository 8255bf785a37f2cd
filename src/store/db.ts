import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Client, InArgs, InStatement, ResultSet, Row, Transaction } from "@libsql/client";
import { CosError, UnavailableError } from "../shared/errors.ts";
import { NativeWriter } from "./native-writer.ts";
import { storeError } from "./store-errors.ts";

/**
 * SQLite's busy handler sleeps on the calling thread, which for us is the event loop: a long one
 * would freeze this process, including the very transaction that holds the lock when two
 * connections of one process meet. So it is short, and the rest of the waiting is async, below.
 */
const BUSY_TIMEOUT_MS = 50;
/** Applied to every connection this process opens (embedded files; a remote server keeps its own). */
const PRAGMAS = [
  "PRAGMA journal_mode = WAL",
  `PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`,
  "PRAGMA foreign_keys = ON",
  "PRAGMA synchronous = NORMAL",
];
/** How long a write keeps retrying a busy store before it gives up with a message. */
const MAX_BUSY_WAIT_MS = 120_000;

export type Tx = Pick<Transaction, "execute" | "batch">;

/** Anything that runs one statement: the reader, a pipeline of reads, a transaction. */
export interface Executor {
  execute(statement: InStatement): Promise<ResultSet>;
}

export interface DatabaseOptions {
  url: string;
  authToken?: string | undefined;
  /** The folder relative `file:` paths are resolved against. */
  cwd?: string;
}

/**
 * A store connection for one process.
 *
 * Writes are batches: `batch(statements)` runs them in one transaction, all or nothing, and against a
 * remote store (sqld, Turso) that is one HTTP request, so no write transaction is ever left open
 * across round trips. Embedded, one writer connection behind a queue keeps this process from
 * competing with itself for the write lock, and SQLITE_BUSY from other processes is waited out here.
 * Reads go through a reader connection; `pipeline()` gathers the reads a command issues together into
 * one request, read from one snapshot.
 *
 * Errors from the client are turned into ones a person can act on (src/store/store-errors.ts): an
 * unreachable store is an UnavailableError naming COS_DB_URL, a refused token a MisconfiguredError
 * naming COS_DB_AUTH_TOKEN.
 */
export class Database {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Embedded: the write connection, opened on the first write (so read-only commands start faster). */
  private native: NativeWriter | null = null;
  private readonly commitObservers: (() => Promise<void>)[] = [];

  private constructor(
    private readonly reader: Client,
    readonly url: string,
    readonly embedded: boolean,
  ) {}

  private writer(): NativeWriter {
    this.native ??= new NativeWriter(filePath(this.url), BUSY_TIMEOUT_MS, PRAGMAS);
    return this.native;
  }

  static async open(options: DatabaseOptions): Promise<Database> {
    const url = normaliseUrl(options.url, options.cwd ?? process.cwd());
    const embedded = url.startsWith("file:");
    const connect = async (): Promise<Client> => {
      const { createClient } = embedded
        ? await import("@libsql/client/sqlite3")
        : await import("@libsql/client");
      // Embedded: one connection per client, so the pragmas below hold for all of it. Remote: the
      // client multiplexes streams over HTTP and the server keeps its own settings.
      const client = createClient({
        url,
        authToken: options.authToken,
        concurrency: embedded ? 1 : undefined,
        timeout: BUSY_TIMEOUT_MS,
      });
      if (embedded) await withBusyRetry(() => applyPragmas(client));
      return client;
    };
    return new Database(await connect(), url, embedded);
  }

  /** COS_DB_URL as a person may see it: a remote URL without its query (which may carry a token). */
  get displayUrl(): string {
    return this.embedded ? this.url : this.url.replace(/\?.*$/, "");
  }

  /**
   * Runs the statements in one write transaction, after every earlier write of this process; a
   * statement that fails rolls all of them back (the error's `statementIndex` names which). One request to
   * a remote store.
   */
  batch(statements: InStatement[]): Promise<ResultSet[]> {
    if (!this.embedded) return this.remote(() => this.reader.batch(statements, "write"));
    return this.write(async (tx) => tx.batch(statements));
  }

  /**
   * Runs `work` in one write transaction (BEGIN IMMEDIATE), after every earlier write of this process.
   * The transaction stays open across `work`'s awaits, so on a remote store each statement is a round
   * trip: only for work that is local or short (a rebuild of an embedded file, tests).
   */
  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => (this.embedded ? this.writeHere(work) : this.writeWithRetry(work)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** An embedded write: the write connection's transaction, its statements kept prepared (native-writer.ts). */
  private async writeHere<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new CosError("internal", "the store is closed");
      const writer = this.writer();
      try {
        writer.begin();
        const tx = { execute: async (s: InStatement) => writer.execute(s), batch: async (ss: InStatement[]) => writer.batch(ss) } as unknown as Tx;
        const result = await work(tx);
        for (const observer of this.commitObservers) await observer();
        writer.commit();
        return result;
      } catch (error) {
        try {
          writer.rollback();
        } catch {
          // the connection is gone: the next write opens another
          this.reopenWriter();
        }
        if (!isBusy(error)) throw error;
        // A stale snapshot pinned on the writer connection never clears by waiting: start a new connection.
        if ((error as { code?: string }).code === "SQLITE_BUSY_SNAPSHOT") this.reopenWriter();
        if (Date.now() - started > MAX_BUSY_WAIT_MS) {
          throw new UnavailableError("the store stayed busy for two minutes (another process holds the write lock); try again");
        }
        await delay(Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
      }
    }
  }

  /**
   * Called inside each write transaction of an embedded store after its statements, before COMMIT:
   * the crash tests hold a writer there to kill it with a transaction open. A remote batch has no
   * such moment (it is one request), so observers are not called for it.
   */
  beforeCommit(observer: () => Promise<void>): void {
    this.commitObservers.push(observer);
  }

  /** A remote write transaction (held across round trips: only for short work). */
  private async writeWithRetry<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new CosError("internal", "the store is closed");
      let tx: Transaction | null = null;
      try {
        tx = await this.reader.transaction("write");
        const result = await work(tx);
        for (const observer of this.commitObservers) await observer();
        await tx.commit();
        return result;
      } catch (error) {
        // close() rolls back what is still open and always hands the connection back to the client's
        // pool; a transaction SQLite already ended must be handed back too, or the next write waits forever.
        try {
          tx?.close();
        } catch {
          // the connection is gone; the client opens a new one (with the busy timeout of its config)
        }
        if (!isBusy(error)) throw storeError(error, this.displayUrl);
        if (Date.now() - started > MAX_BUSY_WAIT_MS) {
          throw new UnavailableError("the store stayed busy for two minutes (another process holds the write lock); try again");
        }
        await delay(Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
      }
    }
  }

  private reopenWriter(): void {
    const old = this.native;
    this.native = null;
    try {
      old?.close();
    } catch {
      // closing a broken connection: nothing to keep
    }
  }

  async query<T = Row>(sql: string, args: InArgs = []): Promise<T[]> {
    const result = await this.execute({ sql, args });
    return result.rows as unknown as T[];
  }

  /** A read on the reader connection; takes a statement too, so a Database can stand where a Tx does. */
  async execute(statement: InStatement | string, args: InArgs = []): Promise<ResultSet> {
    const stmt = typeof statement === "string" ? { sql: statement, args } : statement;
    if (!this.embedded) return this.remote(() => this.reader.execute(stmt));
    return withBusyRetry(() => this.reader.execute(stmt));
  }

  /** Reads from one snapshot, in a read transaction on the reader connection (embedded stores). */
  async read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const tx = await withBusyRetry(() => this.reader.transaction("read"));
    try {
      return await work(tx);
    } finally {
      tx.close();
    }
  }

  /** Several reads from one snapshot: one request to a remote store. */
  async snapshot(statements: InStatement[]): Promise<ResultSet[]> {
    if (!statements.length) return [];
    if (!this.embedded) return this.remote(() => this.reader.batch(statements, "read"));
    return withBusyRetry(() => this.reader.batch(statements, "read"));
  }

  /**
   * An executor that gathers every read issued before the event loop turns (several `execute`s under
   * one `Promise.all`) and sends them together as one snapshot: one request to a remote store.
   */
  pipeline(): Executor {
    let pending: { statement: InStatement; resolve: (r: ResultSet) => void; reject: (e: unknown) => void }[] = [];
    const flush = () => {
      const batch = pending;
      pending = [];
      this.snapshot(batch.map((p) => p.statement)).then(
        (results) => batch.forEach((p, i) => p.resolve(results[i]!)),
        (error) => batch.forEach((p) => p.reject(error)),
      );
    };
    return {
      execute: (statement) =>
        new Promise<ResultSet>((resolve, reject) => {
          if (!pending.length) setImmediate(flush);
          pending.push({ statement, resolve, reject });
        }),
    };
  }

  private async remote<T>(request: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CosError("internal", "the store is closed");
    try {
      return await request();
    } catch (error) {
      throw storeError(error, this.displayUrl);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    this.native?.close();
    this.reader.close();
  }
}

async function applyPragmas(client: Client): Promise<void> {
  for (const pragma of PRAGMAS) await client.execute(pragma);
}

/**
 * Retries `work` while another process holds the lock. Switching a new file to WAL takes an
 * exclusive lock, so two processes opening one fresh store at once meet here first.
 */
async function withBusyRetry<T>(work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isBusy(error) || Date.now() - started > MAX_BUSY_WAIT_MS) throw error;
      await delay(Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
    }
  }
}

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code ?? "";
  const message = error instanceof Error ? error.message : "";
  return code.startsWith("SQLITE_BUSY") || code === "SQLITE_LOCKED" || /database is locked|SQLITE_BUSY/i.test(message);
}

/** `file:./data/cos.db` → an absolute file URL, creating the folder so a fresh machine just works. */
function normaliseUrl(url: string, cwd: string): string {
  const path = storeFile(url, cwd);
  if (path === null) return url;
  const query = url.split("?", 2)[1];
  mkdirSync(dirname(path), { recursive: true });
  return `file:${path}${query ? `?${query}` : ""}`;
}

/** The file of an embedded store's `file:` URL (relative to `cwd`, query dropped); null for a remote or in-memory one. */
export function storeFile(url: string, cwd: string): string | null {
  if (!url.startsWith("file:")) return null;
  const pathPart = url.slice("file:".length).replace(/[?#].*$/, "");
  if (!pathPart || pathPart.startsWith(":memory:")) return null;
  return resolve(cwd, decodeURIComponent(pathPart.replace(/^\/\/(localhost)?(?=\/)/, "")));
}

/** The file of a normalised (absolute) `file:` URL. */
function filePath(url: string): string {
  return decodeURIComponent(url.slice("file:".length).split("?")[0]!);
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
