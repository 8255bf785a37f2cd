import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { recordResult, recordVerdict, queueTask } from "../../src/app/tasks.ts";
import { runPass, runPasses } from "../../resolver/pass.ts";
import { rebuildProjections } from "../../src/store/rebuild.ts";
import { Database } from "../../src/store/db.ts";
import { EventStore } from "../../src/store/event-store.ts";
import { startCountingProxy } from "../fixtures/counting-proxy.ts";
import { dispatch } from "../fixtures/store-kit.ts";
import { cleanupAfterEach, closeAfterEach, COS_BIN, ROOT, runCli, tempAppsClosedAfterEach } from "../helpers.ts";
import { waitFor } from "../wait.ts";
import { remoteStore, TOKEN } from "./remote-kit.ts";
import { bundleFixture, countingCli, dumpProjections, logShapeProblems, readLog, spawnFixture, type Child } from "./store-helpers.ts";

const quick = { command: ["node", "-e", "console.log('## Summary\\nok')"] };

describe("a remote store: one round trip per write", () => {
  const keep = closeAfterEach();

  it("costs a CLI command at most 3 requests with the schema check, result and verdict at most 4, a tick of 8 dispatches at most 6", async () => {
    const agents = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`a${i}`, quick]));
    const store = keep(await remoteStore({ agents, resolver: { maxConcurrent: 8 } }));
    const { proxy, env, dir } = store;
    const { cos, counts } = countingCli(proxy, env, dir);
    await cos("first command (migrates)", ["task", "list"]);
    expect(await cos("task add", ["task", "add", "x", "--type", "research", "--agent", "a0"])).toBe("1\n");
    await cos("goal add", ["goal", "add", "G"]);
    await cos("initiative add", ["initiative", "add", "I", "--goal", "1"]);
    await cos("task add --initiative --after", ["task", "add", "y", "--type", "research", "--agent", "a1", "--initiative", "1", "--after", "1"]);
    await cos("tick (1 dispatch)", ["tick"]);
    await cos("result", ["result", "1"], "## Summary\nDone.\n");
    await cos("verdict", ["verdict", "1", "approve"]);
    for (let i = 2; i < 8; i++) await cos(`task add ${i}`, ["task", "add", `t${i}`, "--type", "research", "--agent", `a${i}`]);
    await cos("task add 8", ["task", "add", "t8", "--type", "research", "--agent", "a0"]);
    const tick = JSON.parse(await cos("tick (8 dispatches)", ["tick", "--json"])) as { dispatched: unknown[] };
    expect(tick.dispatched).toHaveLength(8);
    await cos("task show", ["task", "show", "2"]);
    console.log(`requests per cos command against a remote store: ${JSON.stringify(counts)}`);

    expect(Object.keys(proxy.counts())).toEqual(["/v2/pipeline"]);
    for (const name of ["task add", "goal add", "initiative add", "task add --initiative --after", "task show"]) expect(counts[name], name).toBeLessThanOrEqual(3);
    expect(counts["result"]).toBeLessThanOrEqual(4);
    expect(counts["verdict"]).toBeLessThanOrEqual(4);
    expect(counts["tick (8 dispatches)"]).toBeLessThanOrEqual(6);
    expect(counts["first command (migrates)"]).toBeLessThanOrEqual(4);
  });

  it("completes a pass of 30 dispatches at +25 ms a request under a strict 5 s transaction timeout", async () => {
    const agents = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`a${i}`, quick]));
    const store = keep(await remoteStore({ agents, resolver: { maxConcurrent: 30 } }, { latencyMs: 25, server: { txnTimeoutMode: "always" } }));
    const ctx = await store.app();
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => queueTask(ctx, { title: `t${i}`, type: "research", agent: `a${i}` }, "cli")));
    store.proxy.reset();
    const report = await runPass(ctx);
    expect(report.dispatched.map((d) => d.taskId).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    expect(store.proxy.total()).toBeLessThanOrEqual(3);
    expect(store.server.stats.txnTimeouts).toBe(0);
  });

  it("fails a pass's write whole when the active tasks changed since its plan, and plans again", async () => {
    const store = keep(await remoteStore({ agents: { a: quick, b: quick }, resolver: { maxConcurrent: 1 } }));
    const here = await store.app();
    const x = await queueTask(here, { title: "X", type: "research", agent: "a" }, "cli");
    const y = await queueTask(here, { title: "Y", type: "research", agent: "b" }, "cli");
    // Another machine, 400 ms away: its pass plans X (capacity 1, nothing active) in its first request.
    const far = await startCountingProxy({ target: store.server.url, latencyMs: 400 });
    try {
      const there = await store.app();
      const farDb = await Database.open({ url: far.url, authToken: TOKEN });
      const slow = { ...there, db: farDb, store: new EventStore(farDb) };
      far.reset();
      const passing = runPass(slow);
      // As its second request (the tasks it acts on) leaves, Y is dispatched here: the active set moves.
      await waitFor(() => far.total() >= 2, "the far pass to have planned");
      await dispatch(here, y);
      const report = await passing;
      // Its batch, guarded by the active set it planned on, failed whole; planned again, X waits for capacity.
      expect(report.dispatched).toEqual([]);
      expect(report.holds.find((h) => h.taskId === x)).toMatchObject({ code: "capacity" });
      // Its requests: the plan, the tasks it acts on, the write refused, the plan again (nothing to do now).
      expect(far.total()).toBe(4);
      const dispatched = (await readLog(here.db)).filter((e) => e.type === "TaskDispatched").map((e) => e.stream);
      expect(dispatched).toEqual([`task-${y}`]);
      await farDb.close();
    } finally {
      await far.close();
    }
  });

  it("keeps two passes on two machines from both acting on a stale view: each task dispatched once, the limits never passed", async () => {
    // Three agents and two areas for nine tasks, at most two active: most plans of two passes at once collide.
    const agents = { a: quick, b: quick, c: quick };
    const store = keep(await remoteStore({ agents, resolver: { maxConcurrent: 2 } }, { latencyMs: 15 }));
    const [one, two] = [await store.app(), await store.app()];
    for (let i = 0; i < 9; i++) {
      await queueTask(one, { title: `t${i}`, type: "research", agent: ["a", "b", "c"][i % 3]!, area: i % 2 ? "blog" : "docs" }, "cli");
    }
    for (let round = 0; round < 12; round++) {
      await Promise.all([runPass(one), runPass(two)]);
      // Finish what is active, as runners would, so the next round can dispatch more.
      const active = await one.db.query<{ id: number }>("SELECT id FROM tasks WHERE status = 'dispatched'");
      for (const { id } of active) {
        await recordResult(one, Number(id), { markdown: "## Summary\ndone", exitCode: 0 }, "cli");
        await recordVerdict(one, Number(id), "approved", null, "cli");
      }
    }
    const log = await readLog(one.db);
    expect(logShapeProblems(log)).toEqual([]);
    const dispatches = log.filter((e) => e.type === "TaskDispatched");
    expect(dispatches.map((e) => e.stream).sort()).toEqual(Array.from({ length: 9 }, (_, i) => `task-${i + 1}`).sort());
    // Replay: at no point more than two active, nor two of one agent or one area.
    const defs = new Map(log.filter((e) => e.type === "TaskQueued").map((e) => [e.stream, e.data as { agent: string; area: string }]));
    const active = new Set<string>();
    for (const e of log) {
      if (e.type === "TaskDispatched") {
        const def = defs.get(e.stream)!;
        const others = [...active].map((s) => defs.get(s)!);
        expect(active.size, `${e.stream} at ${e.position}`).toBeLessThan(2);
        expect(others.some((o) => o.agent === def.agent), `agent of ${e.stream}`).toBe(false);
        expect(others.some((o) => o.area === def.area), `area of ${e.stream}`).toBe(false);
        active.add(e.stream);
      }
      if (e.type === "TaskResultReported") active.delete(e.stream);
    }
  });
});

describe("upkeep in bounded passes", () => {
  const tempApp = tempAppsClosedAfterEach();

  /** `count` research tasks run and reported, then the clock past the 18 hours after which such a result is approved unasked. */
  async function resultsDueForAutoApproval(count: number): Promise<AppContext> {
    const { ctx, clock } = await tempApp({ agents: { a: quick } });
    for (let i = 0; i < count; i++) {
      const id = await queueTask(ctx, { title: `t${i}`, type: "research", agent: "a" }, "cli");
      await runPass(ctx);
      await recordResult(ctx, id, { markdown: "## Summary\ndone", exitCode: 0 }, "cli");
    }
    clock.advance(19 * 3600_000);
    return ctx;
  }

  it("auto-approves at most 50 in one pass and says more is left; the next passes do the rest", async () => {
    const ctx = await resultsDueForAutoApproval(120);
    const first = await runPass(ctx);
    expect(first.autoApproved).toHaveLength(50);
    expect(first.more).toBe(true);
    const second = await runPass(ctx);
    expect(second.autoApproved).toHaveLength(50);
    const third = await runPass(ctx);
    expect(third.autoApproved).toHaveLength(20);
    expect(third.more).toBe(false);
    expect(await ctx.db.query("SELECT id FROM tasks WHERE status <> 'approved'")).toEqual([]);
  });

  it("cos tick runs bounded passes until none leaves anything over, and reports them as one", async () => {
    const ctx = await resultsDueForAutoApproval(60);
    const report = await runPasses(ctx);
    expect({ approved: report.autoApproved.length, more: report.more }).toEqual({ approved: 60, more: false });
  });
});

describe("a remote store's errors, as a person can act on them", () => {
  const keep = closeAfterEach();

  it("says an unreachable store is unreachable (exit 3) and a refused token names COS_DB_AUTH_TOKEN (exit 2)", async () => {
    const store = keep(await remoteStore({ agents: { a: quick } }));
    const { env, dir, proxy } = store;
    expect((await runCli(["task", "list"], { env, cwd: dir })).code).toBe(0);
    await proxy.pause();
    const away = await runCli(["task", "list"], { env, cwd: dir });
    expect(away.code).toBe(3);
    expect(away.stderr).toMatch(new RegExp(`^error: the store at COS_DB_URL=${proxy.url.replace(/[.]/g, "\\.")} can't be reached: connection refused`));
    await proxy.resume();
    const refused = await runCli(["task", "list"], { env: { ...env, COS_DB_AUTH_TOKEN: "not-the-token" }, cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`the store at COS_DB_URL=${proxy.url} refused the token (HTTP 401): set COS_DB_AUTH_TOKEN`);
    const none = await runCli(["task", "list"], { env: { COS_DB_URL: env.COS_DB_URL!, COS_CONFIG: env.COS_CONFIG! }, cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("COS_DB_AUTH_TOKEN");
  });

  it("rebuilds on a server whose SQLite has no jsonb (3.44), and names the version needed on one older than 3.38", async () => {
    const agents = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`a${i}`, quick]));
    const store = keep(await remoteStore({ agents }, { server: { sqliteVersion: "3.44.0", txnTimeoutMode: "always" } }));
    const ctx = await store.app();
    for (let i = 0; i < 5; i++) {
      const id = await queueTask(ctx, { title: `t${i}`, type: "research", agent: `a${i}` }, "cli");
      await runPass(ctx);
      await recordResult(ctx, id, { markdown: `## Summary\nfound ${i}`, exitCode: 0 }, "cli");
      await recordVerdict(ctx, id, i % 2 ? "approved" : "sent_back", "notes", "cli");
    }
    const live = await dumpProjections(ctx.db);
    const rebuilt = await runCli(["rebuild"], { env: store.env, cwd: store.dir });
    expect(rebuilt).toMatchObject({ code: 0, stderr: "" });
    expect(await dumpProjections(ctx.db)).toEqual(live);
    store.server.setSqliteVersion("3.37.2");
    const old = await runCli(["rebuild"], { env: store.env, cwd: store.dir });
    expect(old.code).toBe(2);
    expect(old.stderr).toContain("runs SQLite 3.37.2; cos needs SQLite 3.38.0 or newer");
  });
});

describe("cos serve on a remote store", () => {
  const later = cleanupAfterEach();

  it("sends at most one request a second while idle, and says once that the store went and once that it is back", async () => {
    const store = await remoteStore({ agents: { a: quick } });
    later(() => store.close());
    const ctx = await store.app();
    const id = await queueTask(ctx, { title: "one run to settle", type: "research", agent: "a" }, "cli");
    const stderr: string[] = [];
    const serve = spawn(process.execPath, [COS_BIN, "serve"], { env: { PATH: process.env.PATH ?? "", ...store.env, COS_PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    later(() => {
      serve.kill("SIGTERM");
    });
    createInterface({ input: serve.stderr! }).on("line", (line) => stderr.push(line));
    await waitFor(async () => (await ctx.db.query("SELECT 1 FROM tasks WHERE id = ? AND status = 'review'", [id])).length > 0, "the task to be run");
    // Nothing open any more: nothing for time alone to move, so not even the minute's pass asks the store.
    await recordVerdict(ctx, id, "approved", null, "cli");
    await new Promise((done) => setTimeout(done, 2_000));
    store.proxy.reset();
    const seconds = 6;
    await new Promise((done) => setTimeout(done, seconds * 1000));
    const idle = store.proxy.total();
    console.log(`idle cos serve on a remote store: ${idle} requests in ${seconds} s`);
    expect(idle).toBeLessThanOrEqual(seconds);

    await store.proxy.pause();
    await new Promise((done) => setTimeout(done, 4_000));
    await store.proxy.resume();
    await waitFor(() => stderr.some((l) => l.includes("is back")), "the store to be back");
    const about = stderr.filter((l) => /can't be reached|is back|claim failed|resolver:/.test(l));
    expect(about, stderr.join("\n")).toHaveLength(2);
    expect(about[0]).toMatch(/^the store at COS_DB_URL=http:\/\/127\.0\.0\.1:\d+ can't be reached: .*; trying again/);
    expect(about[1]).toMatch(/^the store at COS_DB_URL=http:\/\/127\.0\.0\.1:\d+ is back \(away for \d+ s\)$/);
  });
});

describe("four writer processes against the store server in a process of its own", () => {
  let writer: Awaited<ReturnType<typeof bundleFixture>>;
  beforeAll(async () => {
    writer = await bundleFixture("store-writer.ts");
  });
  afterAll(() => writer?.cleanup());
  const children: (Child | ChildProcess)[] = [];
  let dir: string | null = null;
  afterEach(() => {
    for (const c of children.splice(0)) {
      const proc = "proc" in c ? c.proc : c;
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lose no event and double none", async () => {
    dir = mkdtempSync(join(tmpdir(), "cos-writers-"));
    const server = spawn(process.execPath, ["--import", "tsx", join(ROOT, "tests", "fixtures", "hrana-server.ts"), "--port", "0", "--db", join(dir, "store.db"), "--token", TOKEN], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    children.push(server);
    const hello = await new Promise<{ url: string }>((done) => createInterface({ input: server.stdout! }).once("line", (line) => done(JSON.parse(line))));
    const configPath = join(dir, "cos.config.json");
    writeFileSync(configPath, JSON.stringify({ agents: { builder: quick } }));
    const env = { COS_DB_URL: hello.url, COS_DB_AUTH_TOKEN: TOKEN, COS_CONFIG: configPath };
    const writers = ["a", "b", "c", "d"].map((label, i) => spawnFixture(writer.path, [label, String(31 + i), "60"], env));
    children.push(...writers);
    await Promise.all(writers.map((c) => c.waitFor((l) => l === "ready")));
    for (const c of writers) c.send("go");
    const reports = await Promise.all(
      writers.map(async (c) => {
        const line = await c.waitFor((l) => l.startsWith("{"));
        expect(await c.exited).toEqual({ code: 0, signal: null });
        return JSON.parse(line) as { stored: { eventId: string; stream: string; version: number; position: number }[]; errors: string[]; queued: number };
      }),
    );
    for (const r of reports) expect(r.errors).toEqual([]);
    const db = await Database.open({ url: hello.url, authToken: TOKEN });
    try {
      const log = await readLog(db);
      expect(logShapeProblems(log)).toEqual([]);
      const told = reports.flatMap((r) => r.stored);
      expect(log.length).toBe(told.length);
      const byId = new Map(log.map((e) => [e.eventId, e]));
      for (const s of told) expect(byId.get(s.eventId), s.eventId).toMatchObject({ stream: s.stream, version: s.version, position: s.position });
      const ids = await db.query<{ id: number }>("SELECT id FROM tasks ORDER BY id");
      expect(ids.map((r) => Number(r.id))).toEqual(Array.from({ length: reports.reduce((n, r) => n + r.queued, 0) }, (_, i) => i + 1));
      const live = await dumpProjections(db);
      await rebuildProjections(db);
      expect(await dumpProjections(db)).toEqual(live);
    } finally {
      await db.close();
    }
  });
});

