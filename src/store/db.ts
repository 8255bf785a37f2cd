import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Client, InArgs, InStatement, ResultSet, Row, Transaction } from "@libsql/client";
import { CosError } from "../shared/errors.ts";

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

/** A write transaction or the reader: reads that run inside a pass's transaction and outside it alike. */
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
 * A store connection for one process: one writer connection behind a queue, so that this process
 * never competes with itself for the write lock, and one reader connection. Both are single-connection
 * clients, so the pragmas set on open hold for every statement. SQLITE_BUSY from other processes is
 * waited out here and never reaches a caller.
 */
export class Database {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private writerClient: Promise<Client> | null;

  private constructor(
    private readonly connect: () => Promise<Client>,
    private readonly reader: Client,
    readonly url: string,
    readonly embedded: boolean,
  ) {
    // Embedded: the writer connection opens on the first write, so read-only commands start faster.
    this.writerClient = embedded ? null : Promise.resolve(reader);
  }

  private writer(): Promise<Client> {
    this.writerClient ??= this.connect();
    return this.writerClient;
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
    return new Database(connect, await connect(), url, embedded);
  }

  /** Runs `work` in one write transaction (BEGIN IMMEDIATE), after every earlier write of this process. */
  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.writeWithRetry(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeWithRetry<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new CosError("internal", "the store is closed");
      let tx: Transaction | null = null;
      try {
        tx = await (await this.writer()).transaction("write");
        const result = await work(tx);
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
        if (!isBusy(error)) throw error;
        // A stale snapshot pinned on the writer connection never clears by waiting: start a new connection.
        if ((error as { extendedCode?: string }).extendedCode === "SQLITE_BUSY_SNAPSHOT" && this.embedded) await this.reopenWriter();
        if (Date.now() - started > MAX_BUSY_WAIT_MS) {
          throw new CosError("conflict", "the store stayed busy for two minutes (another process holds the write lock); try again");
        }
        await delay(Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
      }
    }
  }

  private async reopenWriter(): Promise<void> {
    const old = this.writerClient;
    this.writerClient = null;
    if (old) (await old).close();
  }

  async query<T = Row>(sql: string, args: InArgs = []): Promise<T[]> {
    const result = await this.readWithRetry(() => this.reader.execute({ sql, args }));
    return result.rows as unknown as T[];
  }

  /** A read on the reader connection; takes a statement too, so a Database can stand where a Tx does. */
  async execute(statement: InStatement | string, args: InArgs = []): Promise<ResultSet> {
    const stmt = typeof statement === "string" ? { sql: statement, args } : statement;
    return this.readWithRetry(() => this.reader.execute(stmt));
  }

  /** Reads from one snapshot, in a read transaction on the reader connection. */
  async read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const tx = await withBusyRetry(() => this.reader.transaction("read"));
    try {
      return await work(tx);
    } finally {
      tx.close();
    }
  }

  /** Several reads from one snapshot. */
  async snapshot(statements: InStatement[]): Promise<ResultSet[]> {
    return this.readWithRetry(() => this.reader.batch(statements, "read"));
  }

  private readWithRetry<T>(read: () => Promise<T>): Promise<T> {
    return withBusyRetry(read);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    const writer = this.writerClient ? await this.writerClient : null;
    if (writer && writer !== this.reader) writer.close();
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

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
