import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { reportRun } from "../../src/app/runs.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { showTask } from "../../src/app/views.ts";
import { parseEnv } from "../../src/config/env.ts";
import { COS_BIN, ROOT, runCli, tempWorkspace } from "../helpers.ts";
import { waitFor } from "../wait.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("runners with real child processes", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function start(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
    const child = spawn(process.execPath, [COS_BIN, ...args], { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } });
    children.push(child);
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    return { child, output: () => output };
  }

  it("kill -9 of a runner mid-run: the agent's process group dies, the lease expires into attempt 2, and the late report is refused", async () => {
    const pidFile = "PIDS";
    const ws = tempWorkspace({
      agents: { sleeper: { command: ["node", join(ROOT, "tests/fixtures/sleeper-agent.mjs")], env: ["PID_FILE"] } },
      resolver: { leaseSeconds: 10 },
      // Unsandboxed on purpose: the agent writes its host pids outside its work folder for the test to kill.
      runner: { sandbox: "none" },
    });
    cleanups.push(ws.cleanup);
    const env = { ...ws.env, PID_FILE: join(ws.dir, pidFile) };
    const ctx = await openApp({ env: parseEnv(env), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    const id = await queueTask(ctx, { title: "Sleep a long time", type: "research", agent: "sleeper" }, "cli");

    const { child } = start(["tick", "--wait"], env);
    // Read once it is whole: the agent may be caught between creating the file and writing it.
    const pids = await waitFor(() => {
      try {
        return JSON.parse(readFileSync(join(ws.dir, pidFile), "utf8")) as { agent: number; grandchild: number };
      } catch {
        return null;
      }
    }, "the agent to start", 15_000);
    expect(alive(pids.agent) && alive(pids.grandchild)).toBe(true);
    expect((await showTask(ctx, id)).status).toBe("running");

    child.kill("SIGKILL");
    await waitFor(() => !alive(pids.agent) && !alive(pids.grandchild), "the agent's process group to die", 3000);

    const later = new Date(Date.now() + 11_000).toISOString();
    const tick = await runCli(["tick"], { env: { ...env, COS_NOW: later } });
    expect(tick.code, tick.stderr).toBe(0);
    expect(tick.stdout).toContain(`#${id} attempt 1: its runner stopped sending heartbeats (lease lost)`);
    const view = await showTask(ctx, id);
    expect(view).toMatchObject({ status: "queued", attempt: 2 });
    expect(view.activity.map((a) => a.text).join("\n")).toMatch(/lease lost/);

    const runner = view.activity.map((a) => /started on (\S+)/.exec(a.text)?.[1]).find(Boolean)!;
    await expect(
      reportRun(ctx, id, 1, runner, { kind: "result", markdown: "late", exitCode: 0, durationMs: 1, diffStat: null, usage: null }),
    ).rejects.toThrow(/attempt 1 refused/);
  });

  it("two remote runners and the local one: 30 tasks across 3 agents each run exactly once, one at a time per agent and per area", async () => {
    const record = "runs.log";
    const agent = (name: string) => ({ command: ["node", join(ROOT, "tests/fixtures/record-agent.mjs"), name], env: ["RECORD_FILE"] });
    const ws = tempWorkspace({
      agents: { alpha: agent("alpha"), beta: agent("beta"), gamma: agent("gamma") },
      resolver: { maxConcurrent: 6 },
      // Unsandboxed on purpose: every agent appends to one record file outside its work folder.
      runner: { slots: 1, sandbox: "none" },
    });
    cleanups.push(ws.cleanup);
    const env = { ...ws.env, RECORD_FILE: join(ws.dir, record), COS_PORT: "0", COS_RUNNER_TOKEN: "t0ken" };
    const ctx = await openApp({ env: parseEnv(env), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    const areas = ["a", "b", "c", "d"];
    for (let i = 0; i < 30; i++) {
      const name = ["alpha", "beta", "gamma"][i % 3]!;
      await queueTask(ctx, { title: `Task ${i}`, type: "research", agent: name, area: areas[i % 4] }, "cli");
    }

    const server = start(["serve"], env);
    await waitFor(() => /listening on (http:\/\/\S+)/.test(server.output()), "cos serve to listen", 15_000);
    const url = /listening on (http:\/\/\S+)/.exec(server.output())![1]!;
    start(["runner", "--server", url, "--token", "t0ken", "--slots", "2", "--id", "remote-a"], env);
    start(["runner", "--server", url, "--token", "t0ken", "--slots", "2", "--id", "remote-b"], env);

    await waitFor(async () => (await ctx.db.query("SELECT id FROM tasks WHERE status = 'review'")).length === 30, "all 30 results", 90_000);

    const lines = readFileSync(join(ws.dir, record), "utf8").trim().split("\n").map((l) => l.split(" "));
    const starts = lines.filter((l) => l[0] === "start");
    expect(starts.map((l) => Number(l[1])).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const interval = new Map<string, { start: number; end: number; agent: string; area: string }>();
    for (const [kind, task, , agentName, at] of lines) {
      const entry = interval.get(task!) ?? { start: 0, end: 0, agent: agentName!, area: areas[(Number(task) - 1) % 4]! };
      entry[kind as "start" | "end"] = Number(at);
      interval.set(task!, entry);
    }
    const noOverlap = (key: "agent" | "area") => {
      const groups = new Map<string, { start: number; end: number }[]>();
      for (const run of interval.values()) groups.set(run[key], [...(groups.get(run[key]) ?? []), run]);
      for (const runs of groups.values()) {
        runs.sort((x, y) => x.start - y.start);
        for (let i = 1; i < runs.length; i++) expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.end);
      }
    };
    noOverlap("agent");
    noOverlap("area");
    const claimedBy = await ctx.db.query<{ runner: string }>("SELECT DISTINCT runner FROM task_runs");
    expect(claimedBy.length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  // How long a night takes is the bench's cli.demo_ms (target: under 60 s).
  it("cos demo runs a whole night with no configuration", async () => {
    const demo = await runCli(["demo"], { cwd: tempWorkspace({}).dir });
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/sent back: "Use rem units/);
    expect(demo.stdout).toMatch(/dispatched #2 \(attempt 2/);
    expect(demo.stdout).toMatch(/merged cos\/task-4 into main/);
    expect(demo.stdout).toMatch(/☀️ Digest for Tue 24 Nov 2026/);
    expect(demo.stdout).toMatch(/designer\s+code\s+gate/);
  }, 90_000);
});
