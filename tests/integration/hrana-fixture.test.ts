import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient, LibsqlError, type Client } from "@libsql/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { ConflictError } from "../../src/shared/errors.ts";
import { Database } from "../../src/store/db.ts";
import { EventStore } from "../../src/store/event-store.ts";
import { migrate } from "../../src/store/migrate.ts";
import { startCountingProxy, type CountingProxy } from "../fixtures/counting-proxy.ts";
import { startHranaServer, type HranaServer, type HranaServerOptions } from "../fixtures/hrana-server.ts";
import { DEFAULT_TEST_CONFIG, ROOT } from "../helpers.ts";
import { rebuildProjections } from "../../src/store/rebuild.ts";
import { countingCli, dumpProjections, logShapeProblems, readLog } from "./store-helpers.ts";

const TOKEN = "test-token";
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await sleep(10);
  }
}

/** What a rejected promise was rejected with. */
async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a failure");
}

/** A raw pipeline request, for what the client never sends. */
async function pipeline(url: string, body: unknown, version = 2, token = TOKEN) {
  const response = await fetch(`${url}/v${version}/pipeline`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const type = response.headers.get("content-type");
  const text = await response.text();
  return { status: response.status, type, text, json: type === "application/json" ? (JSON.parse(text) as any) : null };
}

const execute = (sql: string, args: unknown[] = []) => ({ type: "execute", stmt: { sql, args } });

describe("the Hrana test server, through @libsql/client", () => {
  let server: HranaServer;
  const clients: Client[] = [];
  const open = (token: string | null = TOKEN) => {
    const client = createClient({ url: server.url, authToken: token ?? undefined });
    clients.push(client);
    return client;
  };
  const start = async (options: HranaServerOptions = {}) => {
    server = await startHranaServer({ authToken: TOKEN, ...options });
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
  });

  it("executes statements and returns values as sqld encodes them", async () => {
    await start();
    const db = open();
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, big INTEGER, f REAL, s TEXT, b BLOB, n)");
    const inserted = await db.execute({
      sql: "INSERT INTO t (big, f, s, b, n) VALUES (?, ?, ?, ?, ?)",
      args: [9007199254740993n, 1.5, "héllo", new Uint8Array([0, 1, 254, 255]), null],
    });
    expect(inserted.rowsAffected).toBe(1);
    expect(inserted.lastInsertRowid).toBe(1n);

    const bigints = createClient({ url: server.url, authToken: TOKEN, intMode: "bigint" });
    clients.push(bigints);
    const read = await bigints.execute("SELECT id, big, f, s, b, n, typeof(f) AS tf FROM t");
    expect(read.columns).toEqual(["id", "big", "f", "s", "b", "n", "tf"]);
    expect(read.columnTypes).toEqual(["INTEGER", "INTEGER", "REAL", "TEXT", "BLOB", "", ""]);
    const row = read.rows[0]!;
    expect(row.id).toBe(1n);
    expect(row.big).toBe(9007199254740993n);
    expect(row.f).toBe(1.5);
    expect(row.s).toBe("héllo");
    expect([...new Uint8Array(row.b as ArrayBuffer)]).toEqual([0, 1, 254, 255]);
    expect(row.n).toBeNull();
    // A JS number travels as a float, so SQLite stores what sqld stores: a REAL unless the column's affinity says otherwise.
    expect((await db.execute({ sql: "SELECT typeof(?) AS t", args: [1] })).rows[0]!.t).toBe("real");

    // sqld reports changes only for INSERT/UPDATE/DELETE and a rowid only for INSERT.
    const selected = await db.execute("SELECT 1");
    expect(selected.rowsAffected).toBe(0);
    expect(selected.lastInsertRowid).toBeUndefined();
    const updated = await db.execute("UPDATE t SET n = 1");
    expect(updated.rowsAffected).toBe(1);
    expect(updated.lastInsertRowid).toBeUndefined();
    const returning = await db.execute("INSERT INTO t (s) VALUES ('r') RETURNING id");
    expect(returning.rows[0]!.id).toBe(2);
    expect(returning.rowsAffected).toBe(1);
    expect(returning.lastInsertRowid).toBe(2n);
    // execute() opens a stream and closes it in one request.
    expect(server.stats.byPath).toEqual({ "/v2/pipeline": 7 });
  });

  it("reports SQL errors with sqld's codes and messages", async () => {
    await start();
    const db = open();
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    await db.execute("INSERT INTO t (v) VALUES ('a')");
    const cases: [string, unknown[], string, string][] = [
      ["INSERT INTO t (v) VALUES (?)", ["a"], "SQLITE_CONSTRAINT", "SQLITE_CONSTRAINT: SQLite error: UNIQUE constraint failed: t.v"],
      ["SELECT nope FROM t", [], "SQL_INPUT_ERROR", "SQL_INPUT_ERROR: SQL input error: no such column: nope (at offset 7)"],
      ["SELECT * FROM nothere", [], "SQL_INPUT_ERROR", "SQL_INPUT_ERROR: SQL input error: no such table: nothere (at offset 14)"],
      ["SELEC 1", [], "SQL_PARSE_ERROR", "SQL_PARSE_ERROR: SQL string could not be parsed: syntax error around L1:1: `SELEC`"],
      ["SELECT 1; SELECT 2", [], "SQL_MANY_STATEMENTS", "SQL_MANY_STATEMENTS: SQL string contains more than one statement"],
      ["  -- nothing", [], "SQL_NO_STATEMENT", "SQL_NO_STATEMENT: SQL string does not contain any statement"],
      ["SELECT ?", [], "ARGS_INVALID", "ARGS_INVALID: Arguments do not match SQL parameters: value for parameter 1 not found"],
      ["SELECT ?", [1, 2], "ARGS_INVALID", "ARGS_INVALID: Arguments do not match SQL parameters: too many parameters, expected 1 found 2"],
      ["PRAGMA journal_mode = DELETE", [], "SQL_PARSE_ERROR", "SQL_PARSE_ERROR: SQL string could not be parsed: unsupported statement: PRAGMA journal_mode = DELETE"],
      ["CREATE TEMP TABLE x (a)", [], "SQL_PARSE_ERROR", "SQL_PARSE_ERROR: SQL string could not be parsed: unsupported statement: CREATE TEMP TABLE x (a)"],
    ];
    for (const [sql, args, code, message] of cases) {
      const error = await failure(db.execute({ sql, args: args as never }));
      expect(error, sql).toBeInstanceOf(LibsqlError);
      expect({ code: error.code, message: error.message }, sql).toEqual({ code, message });
    }
  });

  it("runs a write batch all or nothing", async () => {
    await start();
    const db = open();
    await db.execute("CREATE TABLE t (v TEXT UNIQUE)");
    const results = await db.batch(["INSERT INTO t VALUES ('a')", "INSERT INTO t VALUES ('b')", "SELECT count(*) AS n FROM t"], "write");
    expect(results.map((r) => r.rowsAffected)).toEqual([1, 1, 0]);
    expect(results[2]!.rows[0]!.n).toBe(2);
    const error = await failure(db.batch(["INSERT INTO t VALUES ('c')", "INSERT INTO t VALUES ('a')"], "write"));
    expect(error.code).toBe("SQLITE_CONSTRAINT");
    expect((await db.execute("SELECT group_concat(v) AS vs FROM t")).rows[0]!.vs).toBe("a,b");
  });

  it("keeps an interactive write transaction open across requests, one baton each", async () => {
    await start();
    const proxy = await startCountingProxy({ target: server.url, captureBodies: true });
    try {
      const db = createClient({ url: proxy.url, authToken: TOKEN });
      clients.push(db);
      await db.execute("CREATE TABLE t (v INTEGER)");
      proxy.reset();
      const tx = await db.transaction("write");
      await tx.execute("INSERT INTO t VALUES (1)");
      const inside = await tx.execute("SELECT count(*) AS n FROM t");
      await tx.execute("INSERT INTO t VALUES (2)");
      // Another connection does not see the uncommitted rows.
      expect((await open().execute("SELECT count(*) AS n FROM t")).rows[0]!.n).toBe(0);
      await tx.commit();
      expect(inside.rows[0]!.n).toBe(1);
      expect((await db.execute("SELECT count(*) AS n FROM t")).rows[0]!.n).toBe(2);
      // BEGIN rides with the first statement; each later statement and the COMMIT are one request each.
      expect(proxy.count("/v2/pipeline")).toBe(5);
      const bodies = proxy.log.slice(0, 4).map((r) => JSON.parse(r.body!) as { baton?: string });
      expect(bodies[0]!.baton).toBeUndefined();
      const batons = bodies.slice(1).map((b) => b.baton);
      expect(new Set(batons).size).toBe(3);

      const rolledBack = await db.transaction("write");
      await rolledBack.execute("INSERT INTO t VALUES (3)");
      await rolledBack.rollback();
      expect((await db.execute("SELECT count(*) AS n FROM t")).rows[0]!.n).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it("makes a second writer wait for the first, as sqld's write lock does, instead of failing busy", async () => {
    await start();
    const a = open();
    const b = open();
    await a.execute("CREATE TABLE t (who TEXT)");
    const tx = await a.transaction("write");
    await tx.execute("INSERT INTO t VALUES ('a')");
    let settled = false;
    const second = b.execute("INSERT INTO t VALUES ('b')").finally(() => (settled = true));
    const secondTx = b.transaction("write").then(async (t) => {
      await t.execute("INSERT INTO t VALUES ('b2')");
      await t.commit();
    });
    await until(() => server.stats.lockWaits === 2);
    await sleep(50);
    expect(settled).toBe(false);
    await tx.commit();
    await second;
    await secondTx;
    expect((await a.execute("SELECT group_concat(who) AS w FROM t")).rows[0]!.w).toMatch(/^a,(b,b2|b2,b)$/);
    expect(server.stats.txnTimeouts).toBe(0);
  });

  it("rolls back a transaction a writer waited on past the timeout; its next request fails with TRANSACTION_TIMEOUT", async () => {
    await start({ txnTimeoutMs: 300 });
    const a = open();
    const b = open();
    await a.execute("CREATE TABLE t (who TEXT)");
    const tx = await a.transaction("write");
    await tx.execute("INSERT INTO t VALUES ('a')");
    const started = Date.now();
    await b.execute("INSERT INTO t VALUES ('b')");
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(server.stats).toMatchObject({ lockWaits: 1, txnTimeouts: 1 });
    const error = await failure(tx.execute("SELECT 1"));
    expect(error).toBeInstanceOf(LibsqlError);
    // (The client prefixes the code twice to an error from inside a transaction.)
    expect({ code: error.code, message: error.message }).toEqual({
      code: "TRANSACTION_TIMEOUT",
      message: "TRANSACTION_TIMEOUT: TRANSACTION_TIMEOUT: Transaction timed out",
    });
    // The stream itself lives on, out of its transaction (sqld keeps the baton good).
    expect((await tx.execute("SELECT count(*) AS n FROM t")).rows[0]!.n).toBe(1);
    tx.close();
    expect((await a.execute("SELECT group_concat(who) AS w FROM t")).rows[0]!.w).toBe("b");
  });

  it("in strict mode, also rolls back an old transaction that nobody waits for", async () => {
    await start({ txnTimeoutMs: 400, txnTimeoutMode: "always" });
    const a = open();
    await a.execute("CREATE TABLE t (v INTEGER)");
    const tx = await a.transaction("write");
    await tx.execute("INSERT INTO t VALUES (1)");
    await until(() => server.stats.txnTimeouts === 1);
    expect((await failure(tx.commit())).code).toBe("TRANSACTION_TIMEOUT");
    expect((await a.execute("SELECT count(*) AS n FROM t")).rows[0]!.n).toBe(0);
    // A quick transaction is untouched.
    const quick = await a.transaction("write");
    await quick.execute("INSERT INTO t VALUES (2)");
    await quick.commit();
    expect((await a.execute("SELECT count(*) AS n FROM t")).rows[0]!.n).toBe(1);
  });

  it("expires an idle stream: its baton answers STREAM_EXPIRED and its write lock is free", async () => {
    await start({ streamExpiryMs: 150 });
    const a = open();
    await a.execute("CREATE TABLE t (v INTEGER)");
    const tx = await a.transaction("write");
    await tx.execute("INSERT INTO t VALUES (1)");
    await sleep(300);
    const error = await failure(tx.execute("INSERT INTO t VALUES (2)"));
    expect({ code: error.code, message: error.message }).toEqual({
      code: "STREAM_EXPIRED",
      message: "STREAM_EXPIRED: The stream has expired due to inactivity",
    });
    await open().execute("INSERT INTO t VALUES (3)");
    expect(server.stats.lockWaits).toBe(0);
    expect((await a.execute("SELECT group_concat(v) AS vs FROM t")).rows[0]!.vs).toBe("3");
  });

  it("refuses a wrong or missing token with sqld's 401, and answers the version probes without one", async () => {
    await start();
    for (const token of ["wrong", null]) {
      const error = await failure(open(token).execute("SELECT 1"));
      expect(error).toBeInstanceOf(LibsqlError);
      expect({ code: error.code, message: error.message }).toEqual({ code: "SERVER_ERROR", message: "SERVER_ERROR: Server returned HTTP status 401" });
    }
    const raw = await pipeline(server.url, { requests: [execute("SELECT 1")] }, 2, "wrong");
    expect(raw).toMatchObject({ status: 401, type: "application/json", json: { error: "Unauthorized: `The JWT is invalid`" } });
    const bare = await fetch(`${server.url}/v2/pipeline`, { method: "POST", body: "{}" });
    expect(await bare.json()).toEqual({ error: "Unauthorized: `Expected authorization header but none given`" });
    expect(server.stats.unauthorized).toBe(4);
    for (const path of ["/v2", "/v3", "/health"]) expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    expect((await fetch(`${server.url}/v3-protobuf`)).status).toBe(404);
  });

  it("refuses connections during an outage and comes back on the same port with the same data", async () => {
    await start();
    const db = open();
    await db.execute("CREATE TABLE t (v INTEGER)");
    await db.execute("INSERT INTO t VALUES (1)");
    const url = server.url;
    const inFlight = await db.transaction("write");
    await inFlight.execute("INSERT INTO t VALUES (2)");

    await server.stop();
    expect((await failure(db.execute("SELECT 1"))).message).toBe("fetch failed");
    const refused = await failure(fetch(`${url}/v2`));
    expect((refused.cause as { code?: string })?.code).toBe("ECONNREFUSED");
    await server.start();
    expect(server.url).toBe(url);
    expect((await db.execute("SELECT group_concat(v) AS vs FROM t")).rows[0]!.vs).toBe("1");
    // Like a restart: the transaction open before is gone, and so is its stream.
    const lost = await failure(inFlight.execute("SELECT 1"));
    expect(lost.message).toBe("SERVER_ERROR: Server returned HTTP status 400: Received an invalid baton");

    // outage(ms) is stop, wait, start; with keepStreams a transaction rides it out (a network outage).
    const survivor = await db.transaction("write");
    await survivor.execute("INSERT INTO t VALUES (3)");
    const back = server.outage(1_000, { keepStreams: true });
    await sleep(50);
    expect((await failure(db.execute("SELECT 1"))).message).toBe("fetch failed");
    await back;
    await survivor.commit();
    expect((await db.execute("SELECT group_concat(v) AS vs FROM t")).rows[0]!.vs).toBe("1,3");
  });

  it("emulates an older SQLite: reports its version and refuses jsonb() as it would", async () => {
    await start({ sqliteVersion: "3.44.0" });
    const db = open();
    expect((await db.execute("SELECT sqlite_version() AS v")).rows[0]!.v).toBe("3.44.0");
    const error = await failure(db.execute("SELECT jsonb('[1]') AS j"));
    expect({ code: error.code, message: error.message }).toEqual({
      code: "SQL_INPUT_ERROR",
      message: "SQL_INPUT_ERROR: SQL input error: no such function: jsonb (at offset 7)",
    });
    expect((await db.execute("SELECT json('[1]') AS j")).rows[0]!.j).toBe("[1]");
    server.setSqliteVersion(null);
    expect((await db.execute("SELECT typeof(jsonb('[1]')) AS t")).rows[0]!.t).toBe("blob");
  });
});

describe("the Hrana test server, raw protocol", () => {
  let server: HranaServer;
  beforeEach(async () => {
    server = await startHranaServer({ authToken: TOKEN });
  });
  afterEach(async () => {
    await server.close();
  });

  it("takes each baton once, and answers misuse with sqld's HTTP 400", async () => {
    const first = await pipeline(server.url, { requests: [execute("CREATE TABLE t (v)")] });
    expect(first.status).toBe(200);
    const baton = first.json.baton as string;
    expect(Buffer.from(baton, "base64")).toHaveLength(48);
    expect(first.json.base_url).toBeNull();
    expect(first.json.results).toEqual([
      { type: "ok", response: { type: "execute", result: expect.objectContaining({ cols: [], rows: [], affected_row_count: 0, last_insert_rowid: null }) } },
    ]);
    const second = await pipeline(server.url, { baton, requests: [execute("INSERT INTO t VALUES (1)")] });
    expect(second.json.baton).not.toBe(baton);
    expect(second.json.results[0].response.result).toMatchObject({ affected_row_count: 1, last_insert_rowid: "1" });
    const reused = await pipeline(server.url, { baton, requests: [execute("SELECT 1")] });
    expect(reused).toMatchObject({ status: 400, type: "text/plain", text: "Received a baton that has already been used" });
    const forged = await pipeline(server.url, { baton: `${baton.slice(0, -4)}AAAA`, requests: [] });
    expect(forged).toMatchObject({ status: 400, text: "Received an invalid baton" });
    const closed = await pipeline(server.url, { requests: [{ type: "close" }, execute("SELECT 1")] });
    expect(closed).toMatchObject({ status: 400, text: "Stream for this baton was closed" });
    const unknownSql = await pipeline(server.url, { requests: [{ type: "execute", stmt: { sql_id: 7 } }] });
    expect(unknownSql).toMatchObject({ status: 400, text: "SQL text 7 not found" });
    const v2 = await pipeline(server.url, { requests: [{ type: "get_autocommit" }] });
    expect(v2).toMatchObject({ status: 400, text: "The `get_autocommit` request is only supported in protocol version hrana3 and higher" });
    const badType = await pipeline(server.url, { requests: [{ type: "nope" }] });
    expect(badType.status).toBe(400);
    expect(badType.text).toMatch(/^Cannot deserialize client message from JSON: unknown variant `nope`/);
  });

  it("runs batches with conditions, sequences, stored SQL, describe and get_autocommit (v3), and cursors", async () => {
    const batch = (steps: unknown[]) => ({ type: "batch", batch: { steps } });
    const step = (sql: string, condition?: unknown) => ({ stmt: { sql }, ...(condition ? { condition } : {}) });
    const answer = await pipeline(
      server.url,
      {
        requests: [
          { type: "sequence", sql: "CREATE TABLE t (v INTEGER UNIQUE); INSERT INTO t VALUES (1);" },
          { type: "store_sql", sql_id: 1, sql: "INSERT INTO t VALUES (?)" },
          batch([
            step("BEGIN"),
            { stmt: { sql_id: 1, args: [{ type: "integer", value: "2" }] }, condition: { type: "ok", step: 0 } },
            { stmt: { sql_id: 1, args: [{ type: "integer", value: "1" }] }, condition: { type: "ok", step: 1 } },
            step("SELECT 'failed'", { type: "error", step: 2 }),
            step("SELECT 'skipped'", { type: "ok", step: 2 }),
            step("SELECT 'in tx'", { type: "and", conds: [{ type: "not", cond: { type: "is_autocommit" } }, { type: "ok", step: 1 }] }),
            step("COMMIT", { type: "or", conds: [{ type: "ok", step: 1 }, { type: "ok", step: 2 }] }),
            step("SELECT 'autocommit'", { type: "is_autocommit" }),
          ]),
          { type: "get_autocommit" },
          { type: "describe", sql: "SELECT v, :x AS x FROM t WHERE v > ?2" },
          { type: "close_sql", sql_id: 1 },
          { type: "close" },
        ],
      },
      3,
    );
    expect(answer.status).toBe(200);
    expect(answer.json.baton).toBeNull();
    const [sequence, stored, batchResult, autocommit, described, closedSql, closed] = answer.json.results;
    expect(sequence).toEqual({ type: "ok", response: { type: "sequence" } });
    expect(stored).toEqual({ type: "ok", response: { type: "store_sql" } });
    const { step_results: results, step_errors: errors } = batchResult.response.result;
    expect(results.map((r: { rows?: unknown[][] } | null) => (r ? (r.rows?.[0]?.[0] as { value?: string })?.value ?? "ok" : null))).toEqual([
      "ok", "ok", null, "failed", null, "in tx", "ok", "autocommit",
    ]);
    expect(errors.map((e: { code: string } | null) => e?.code ?? null)).toEqual([null, null, "SQLITE_CONSTRAINT", null, null, null, null, null]);
    expect(autocommit.response).toEqual({ type: "get_autocommit", is_autocommit: true });
    expect(described.response.result).toEqual({
      params: [{ name: ":x" }, { name: "?2" }],
      cols: [{ name: "v", decltype: "INTEGER" }, { name: "x", decltype: null }],
      is_explain: false,
      is_readonly: true,
    });
    expect(closedSql.response.type).toBe("close_sql");
    expect(closed.response.type).toBe("close");

    const v2Cond = await pipeline(server.url, { requests: [batch([step("SELECT 1", { type: "is_autocommit" })])] }, 2);
    expect(v2Cond).toMatchObject({ status: 400, text: "BatchCond of type `is_autocommit` is only supported in protocol version hrana3 and higher" });
    const forward = await pipeline(server.url, { requests: [batch([step("SELECT 1", { type: "ok", step: 0 })])] });
    expect(forward).toMatchObject({ status: 400, text: "Invalid reference to step in a batch condition" });
    // A step that does not parse fails the batch before any step runs.
    const unparsable = await pipeline(server.url, { requests: [batch([step("INSERT INTO t VALUES (9)"), step("SELEC 1")])] });
    expect(unparsable.json.results[0]).toMatchObject({ type: "error", error: { code: "SQL_PARSE_ERROR" } });
    const count = await pipeline(server.url, { requests: [execute("SELECT count(*) FROM t")] });
    expect(count.json.results[0].response.result.rows).toEqual([[{ type: "integer", value: "2" }]]);

    const cursor = await fetch(`${server.url}/v3/cursor`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ baton: null, batch: { steps: [step("SELECT v FROM t ORDER BY v"), step("SELECT nope")] } }),
    });
    const lines = (await cursor.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ base_url: null });
    expect(lines.slice(1)).toEqual([
      { type: "step_begin", step: 0, cols: [{ name: "v", decltype: "INTEGER" }] },
      { type: "row", row: [{ type: "integer", value: "1" }] },
      { type: "row", row: [{ type: "integer", value: "2" }] },
      { type: "step_end", affected_row_count: 0, last_insert_rowid: null },
      { type: "step_error", step: 1, error: { code: "SQL_INPUT_ERROR", message: "SQL input error: no such column: nope (at offset 7)" } },
    ]);
  });
});

describe("the counting proxy", () => {
  it("counts requests by path, adds latency, and refuses connections while paused", async () => {
    const server = await startHranaServer();
    const proxy = await startCountingProxy({ target: server.url, latencyMs: 40 });
    const db = createClient({ url: proxy.url });
    try {
      const started = Date.now();
      await db.execute("SELECT 1");
      await db.batch(["SELECT 1", "SELECT 2"], "read");
      expect(Date.now() - started).toBeGreaterThanOrEqual(80);
      await fetch(`${proxy.url}/v2`);
      expect(proxy.counts()).toEqual({ "/v2/pipeline": 2, "/v2": 1 });
      expect(proxy.total()).toBe(3);
      expect(proxy.log.map((r) => r.status)).toEqual([200, 200, 200]);
      proxy.reset();
      proxy.setLatency(0);
      expect(proxy.total()).toBe(0);

      await proxy.pause();
      expect((await failure(db.execute("SELECT 1"))).message).toBe("fetch failed");
      await proxy.resume();
      await db.execute("SELECT 1");
      expect(proxy.count("/v2/pipeline")).toBe(1);
      // The server going away behind the proxy cuts the client's connection too.
      await server.stop();
      expect((await failure(db.execute("SELECT 1"))).message).toBe("fetch failed");
    } finally {
      db.close();
      await proxy.close();
      await server.close();
    }
  });
});

describe("the Hrana test server as a separate process", () => {
  it("listens where it says, serves a file, and goes away and comes back on command", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hrana-cli-"));
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "tests", "fixtures", "hrana-server.ts"), "--port", "0", "--db", join(dir, "data.db"), "--token", TOKEN],
      { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] },
    );
    const lines = createInterface({ input: child.stdout });
    const next = () => new Promise<any>((done) => lines.once("line", (line) => done(JSON.parse(line))));
    const command = (line: string) => {
      const answer = next();
      child.stdin.write(`${line}\n`);
      return answer;
    };
    try {
      const hello = await next();
      expect(hello.db).toBe(join(dir, "data.db"));
      const db = createClient({ url: hello.url, authToken: TOKEN });
      await db.execute("CREATE TABLE t (v INTEGER)");
      await db.execute("INSERT INTO t VALUES (1)");
      expect(await command("stop")).toEqual({ ok: true, listening: false });
      expect((await failure(db.execute("SELECT 1"))).message).toBe("fetch failed");
      expect(await command("start")).toEqual({ ok: true, listening: true });
      expect((await db.execute("SELECT count(*) AS n FROM t")).rows[0]!.n).toBe(1);
      expect((await command("stats")).byPath).toEqual({ "/v2/pipeline": 3 });
      db.close();
      const exited = new Promise((done) => child.once("exit", done));
      expect(await command("close")).toEqual({ ok: true });
      await exited;
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the cos store on a remote libSQL (the Hrana test server)", () => {
  let server: HranaServer;
  let proxy: CountingProxy;
  let dir: string;
  beforeEach(async () => {
    server = await startHranaServer({ authToken: TOKEN });
    proxy = await startCountingProxy({ target: server.url });
    dir = mkdtempSync(join(tmpdir(), "cos-remote-"));
  });
  afterEach(async () => {
    await proxy.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("migrates, appends and reads events through Database and EventStore", async () => {
    const db = await Database.open({ url: proxy.url, authToken: TOKEN });
    try {
      expect(db.embedded).toBe(false);
      expect(await migrate(db)).toBeGreaterThan(0);
      expect(await migrate(db)).toBe(0);
      const store = new EventStore(db);
      const meta = { at: "2026-11-23T22:00:00.000Z", actor: "cli" };
      const first = await store.append([{ stream: "probe-1", expectedVersion: 0, events: [{ type: "Probed", data: { n: 1 } }] }], meta);
      expect(first.events.map((e) => [e.position, e.version])).toEqual([[1, 1]]);
      await store.append([{ stream: "probe-1", expectedVersion: 1, events: [{ type: "Probed", data: { n: 2 } }, { type: "Probed", data: { n: 3 } }] }], meta);
      await expect(
        store.append([{ stream: "probe-1", expectedVersion: 1, events: [{ type: "Probed", data: { n: 4 } }] }], meta),
      ).rejects.toBeInstanceOf(ConflictError);
      expect((await store.readStream("probe-1")).map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3]);
      expect(await store.lastPosition()).toBe(3);
      // An idempotent retry with the same event ids stores nothing new.
      const ids = ["e-1"];
      await store.append([{ stream: "probe-2", expectedVersion: 0, events: [{ type: "Probed", data: {} }], eventIds: ids }], meta);
      const again = await store.append([{ stream: "probe-2", expectedVersion: 0, events: [{ type: "Probed", data: {} }], eventIds: ids }], meta);
      expect(again.duplicate).toBe(true);
      expect(logShapeProblems(await readLog(db))).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it("runs the command layer: tasks queued from two apps at once, projections equal to a rebuild", async () => {
    const configPath = join(dir, "cos.config.json");
    writeFileSync(configPath, JSON.stringify(DEFAULT_TEST_CONFIG));
    const env = parseEnv({ COS_DB_URL: server.url, COS_DB_AUTH_TOKEN: TOKEN, COS_CONFIG: configPath });
    const [one, two] = await Promise.all([openApp({ env, cwd: dir, workspace: gitWorkspace }), openApp({ env, cwd: dir, workspace: gitWorkspace })]);
    try {
      const ids = await Promise.all(
        Array.from({ length: 6 }, (_, i) => queueTask(i % 2 ? one! : two!, { title: `t${i}`, type: "research", agent: "builder" }, "cli")),
      );
      expect([...ids].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      // rebuild's worker threads need an embedded file; on a remote store it folds on this thread.
      const live = await dumpProjections(one!.db);
      await rebuildProjections(one!.db, { workers: 0 });
      const rebuilt = await dumpProjections(one!.db);
      expect(rebuilt).toEqual(live);
    } finally {
      await one!.db.close();
      await two!.db.close();
    }
  });

  it("counts the HTTP requests of cos commands run through the real CLI", async () => {
    const configPath = join(dir, "cos.config.json");
    writeFileSync(configPath, JSON.stringify({ agents: { a: { command: ["node", "-e", ""] } } }));
    const env = { COS_DB_URL: proxy.url, COS_DB_AUTH_TOKEN: TOKEN, COS_CONFIG: configPath };
    const { cos, counts } = countingCli(proxy, env, dir);
    await cos("first command (migrates)", ["task", "list"]);
    expect(await cos("task add", ["task", "add", "x", "--type", "research", "--agent", "a"])).toBe("1\n");
    await cos("goal add", ["goal", "add", "G"]);
    await cos("initiative add", ["initiative", "add", "I", "--goal", "1"]);
    await cos("task add --initiative", ["task", "add", "y", "--type", "research", "--agent", "a", "--initiative", "1"]);
    await cos("tick (1 dispatch)", ["tick"]);
    await cos("result", ["result", "1"], "## Summary\nDone.\n");
    await cos("verdict", ["verdict", "1", "approve"]);
    await cos("task show", ["task", "show", "2"]);
    // Every request is a pipeline: the client never probes the version, and there is nothing else.
    expect(Object.keys(proxy.counts())).toEqual(["/v2/pipeline"]);
    console.log(`HTTP requests per cos command against a remote store: ${JSON.stringify(counts)}`);
    expect(counts["task add"]).toBeGreaterThan(0);
  });
});
