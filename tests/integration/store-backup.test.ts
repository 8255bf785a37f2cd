import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { createGoal } from "../../src/app/goals.ts";
import { queueTask, recordResult, recordVerdict } from "../../src/app/tasks.ts";
import { runPass } from "../../resolver/pass.ts";
import { Database } from "../../src/store/db.ts";
import { COS_BIN, runCli, tempApp, tempWorkspace } from "../helpers.ts";
import { startHranaServer, type HranaServer } from "../fixtures/hrana-server.ts";
import { waitFor } from "../wait.ts";
import { remoteStore, TOKEN, type RemoteStore } from "./remote-kit.ts";
import { dumpStore, readLog } from "./store-helpers.ts";

const quick = { command: ["node", "-e", "console.log('## Summary\\nok')"] };
const CONFIG = { agents: Object.fromEntries(["a", "b", "c", "d", "e", "f"].map((n) => [n, quick])), resolver: { maxConcurrent: 3 } };

/** A little history: a goal, tasks approved, sent back and discarded. */
async function history(ctx: AppContext): Promise<void> {
  const goal = await createGoal(ctx, { title: "Launch" }, "cli");
  for (let i = 0; i < 6; i++) {
    const id = await queueTask(ctx, { title: `t${i}`, type: "research", agent: ["a", "b", "c", "d", "e", "f"][i]!, goalId: i === 0 ? goal : null }, "cli");
    await runPass(ctx);
    await recordResult(ctx, id, { markdown: `## Summary\nDid ${i}.\n## Handoff\nNext ${i}.`, exitCode: 0 }, "cli");
    await recordVerdict(ctx, id, (["approved", "sent_back", "discarded"] as const)[i % 3]!, "a note", "cli");
  }
}

/** The log and the projections: what "the restored store equals the original" compares. */
async function dumpOf(url: string, authToken?: string) {
  const db = await Database.open({ url, authToken });
  try {
    return await dumpStore(db);
  } finally {
    await db.close();
  }
}

describe("cos backup, cos restore, cos check", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("backs up an embedded store while cos serve works on it, restores into an empty store, and the restore equals the original", async () => {
    const app = await tempApp(CONFIG, "2026-11-23T22:00:00.000Z");
    cleanups.push(app.close);
    await history(app.ctx);
    const env = { ...app.ws.env, COS_PORT: "0", COS_NOW: "2026-11-23T23:00:00.000Z" };
    const serve: ChildProcess = spawn(process.execPath, [COS_BIN, "serve"], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: "ignore" });
    cleanups.push(() => void serve.kill("SIGTERM"));
    // Work for the server while the backup is taken: it dispatches and runs these.
    const more = await Promise.all(["x", "y", "z"].map((t, i) => queueTask(app.ctx, { title: t, type: "research", agent: ["a", "d", "f"][i]! }, "cli")));
    const during = join(app.ws.dir, "during.db");
    const taken = await runCli(["backup", during], { env, cwd: app.ws.dir });
    expect(taken).toMatchObject({ code: 0, stderr: "" });
    expect(taken.stdout).toMatch(/^copied the store to .*during\.db: \d+ events up to position \d+/);
    await waitFor(async () => {
      const rows = await app.ctx.db.query("SELECT 1 FROM tasks WHERE id IN (?, ?, ?) AND status = 'review'", more);
      return rows.length === 3;
    }, "the server to run the new tasks");
    serve.kill("SIGTERM");

    // The backup taken during the work is one consistent instant: a prefix of the log, and it restores whole.
    const duringDb = await Database.open({ url: `file:${during}` });
    const backupLog = await readLog(duringDb);
    await duringDb.close();
    const log = await readLog(app.ctx.db);
    expect(log.slice(0, backupLog.length)).toEqual(backupLog);
    const target = tempWorkspace(CONFIG);
    cleanups.push(target.cleanup);
    const restored = await runCli(["restore", during], { env: target.env, cwd: target.dir });
    expect(restored).toMatchObject({ code: 0, stderr: "" });
    expect(restored.stdout).toContain(`restored ${backupLog.length} events`);
    expect(restored.stdout).toContain("the store is whole");
    expect(await dumpOf(target.dbUrl)).toEqual(await dumpOf(`file:${during}`));

    // Now that the server is still, a backup and a restore give back exactly the original.
    const after = join(app.ws.dir, "after.db");
    expect((await runCli(["backup", after], { env, cwd: app.ws.dir })).code).toBe(0);
    const second = tempWorkspace(CONFIG);
    cleanups.push(second.cleanup);
    expect((await runCli(["restore", after], { env: second.env, cwd: second.dir })).code).toBe(0);
    expect(await dumpOf(second.dbUrl)).toEqual(await dumpStore(app.ctx.db));
    const check = await runCli(["check"], { env: second.env, cwd: second.dir });
    expect(check).toMatchObject({ code: 0, stderr: "" });

    // A restore never goes over a store that holds another log, and a backup never overwrites a file.
    const refused = await runCli(["restore", during], { env: second.env, cwd: second.dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("already holds");
    expect((await runCli(["backup", after], { env, cwd: app.ws.dir })).stderr).toContain("exists already");
  });

  it("exports a remote store's log and restores it into another server: the same log, the same projections", async () => {
    const store: RemoteStore = await remoteStore(CONFIG, { server: { txnTimeoutMode: "always" } });
    cleanups.push(store.close);
    await history(await store.app());
    const file = join(store.dir, "export.db");
    const taken = await runCli(["backup", file], { env: store.env, cwd: store.dir });
    expect(taken).toMatchObject({ code: 0, stderr: "" });
    expect(taken.stdout).toMatch(/^exported the log to .*export\.db: \d+ events/);
    expect(existsSync(file)).toBe(true);

    const other: HranaServer = await startHranaServer({ authToken: TOKEN, txnTimeoutMode: "always" });
    cleanups.push(() => other.close());
    const env = { ...store.env, COS_DB_URL: other.url };
    const restored = await runCli(["restore", file], { env, cwd: store.dir });
    expect(restored).toMatchObject({ code: 0, stderr: "" });
    expect(await dumpOf(other.url, TOKEN)).toEqual(await dumpOf(store.server.url, TOKEN));
    expect((await runCli(["check", "--json"], { env, cwd: store.dir })).stdout).toContain('"ok": true');
    expect(other.stats.txnTimeouts).toBe(0);
  });

  it("names what is wrong and what to do: a drifted projection (rebuild) and a gap in a stream's versions (restore)", async () => {
    const app = await tempApp(CONFIG);
    cleanups.push(app.close);
    await history(app.ctx);
    await app.ctx.db.batch(["UPDATE tasks SET title = 'tampered' WHERE id = 2"]);
    const drifted = await runCli(["check"], { env: app.ws.env, cwd: app.ws.dir });
    expect(drifted.code).toBe(2);
    expect(drifted.stdout).toContain("tasks: 1 row that a rebuild would not write, 1 it would write that are not there");
    expect(drifted.stdout).toContain("what to do: the projections drifted from the log: run cos rebuild");
    expect((await runCli(["rebuild"], { env: app.ws.env, cwd: app.ws.dir })).code).toBe(0);
    expect((await runCli(["check"], { env: app.ws.env, cwd: app.ws.dir })).code).toBe(0);

    await app.ctx.db.batch(["DELETE FROM events WHERE stream = 'task-3' AND version = 2"]);
    const damaged = await runCli(["check"], { env: app.ws.env, cwd: app.ws.dir });
    expect(damaged.code).toBe(2);
    expect(damaged.stdout).toMatch(/versions with gaps: task-3 has \d+ events with versions 1\.\.\d+/);
    expect(damaged.stdout).toContain("restore the last good backup into an empty store (cos restore FILE)");
  });
});
