import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { loadTask, queueTask } from "../../src/app/tasks.ts";
import { runPass } from "../../resolver/pass.ts";
import { Runner } from "../../runner/runner.ts";
import { localPort } from "../../runner/port.ts";
import { reportPath } from "../../runner/reports.ts";
import { waitFor } from "../wait.ts";
import { remoteStore, type RemoteStore } from "./remote-kit.ts";

// An agent that works until its gate file appears, then reports: the test decides when a run finishes.
const GATED = `const fs = require("node:fs"); const gate = process.env.GATE_FILE;
const wait = () => fs.existsSync(gate) ? console.log("## Summary\\nFinished behind the gate.") : setTimeout(wait, 20);
wait();`;

describe("a run that finishes while the store is away", () => {
  let store: RemoteStore | null = null;
  const runners: Runner[] = [];
  afterEach(async () => {
    for (const r of runners.splice(0)) await r.stop();
    await store?.close();
    store = null;
  });

  async function setup(leaseSeconds = 120) {
    store = await remoteStore({
      agents: { worker: { command: ["node", "-e", GATED], env: ["GATE_FILE"] } },
      resolver: { leaseSeconds },
    });
    const ctx = await store.app();
    return { ctx };
  }

  function runner(ctx: AppContext, id: string): Runner {
    const r = new Runner(localPort(ctx), {
      id,
      slots: 1,
      labels: [],
      config: ctx.config,
      dataDir: join(store!.dir, "data"),
      sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME, GATE_FILE: join(store!.dir, "data", "gate") },
      clock: ctx.clock,
    });
    runners.push(r);
    return r;
  }

  async function dispatchedRun(ctx: AppContext) {
    const id = await queueTask(ctx, { title: "Gated work", type: "research", agent: "worker" }, "cli");
    expect((await runPass(ctx)).dispatched.map((d) => d.taskId)).toEqual([id]);
    return id;
  }

  it("keeps the report in the run folder and sends it once the store is back after 10 s: review at attempt 1", async () => {
    const { ctx } = await setup();
    const id = await dispatchedRun(ctx);
    const first = runner(ctx, "r1");
    expect((await first.poll()).map((r) => r.taskId)).toEqual([id]);
    const runDir = join(store!.dir, "data", "runs", `${id}-1`);
    await store!.server.stop();
    const back = new Promise((done) => setTimeout(done, 10_000)).then(() => store!.server.start());
    writeFileSync(join(store!.dir, "data", "gate"), "go");
    await waitFor(() => existsSync(reportPath(runDir)), "the report to be kept in the run folder");
    await back;
    await first.idle();
    expect(existsSync(reportPath(runDir))).toBe(false);
    const { state } = await loadTask(ctx, id);
    expect({ status: state.status, attempt: state.attempt, summary: state.result?.summary }).toEqual({
      status: "review",
      attempt: 1,
      summary: "Finished behind the gate.",
    });
  });

  it("leaves an unsent report for the next runner, which sends it in the name of the one that ran it", async () => {
    const { ctx } = await setup();
    const id = await dispatchedRun(ctx);
    const first = runner(ctx, "r1");
    await first.poll();
    const runDir = join(store!.dir, "data", "runs", `${id}-1`);
    await store!.proxy.pause();
    writeFileSync(join(store!.dir, "data", "gate"), "go");
    await waitFor(() => existsSync(reportPath(runDir)), "the report to be kept in the run folder");
    await first.stop();
    expect(existsSync(reportPath(runDir))).toBe(true);
    await store!.proxy.resume();
    // A new runner process on the same machine, another name: it finds the report and sends it.
    runner(ctx, "r2").start();
    await waitFor(async () => (await loadTask(ctx, id)).state.status === "review", "the left report to be accepted");
    const { state } = await loadTask(ctx, id);
    expect({ attempt: state.attempt, runner: state.runner }).toEqual({ attempt: 1, runner: "r1" });
    await waitFor(() => !existsSync(reportPath(runDir)), "the report file to be removed once sent");
  });

  it("heartbeats ride out an outage shorter than the lease: the run goes on and keeps its attempt", async () => {
    // A 10 s lease is renewed every 2.5 s; the store is away for 5 s of it.
    const { ctx } = await setup(10);
    const id = await dispatchedRun(ctx);
    const first = runner(ctx, "r1");
    await first.poll();
    await store!.proxy.outage(5_000);
    // Back: the next heartbeat renews the lease before it runs out, and a pass finds nothing expired.
    const renewedAt = Date.now();
    await waitFor(async () => {
      const rows = await ctx.db.query<{ lease_until: string }>("SELECT lease_until FROM leases WHERE task_id = ?", [id]);
      return Date.parse(String(rows[0]?.lease_until)) > renewedAt + 8_000;
    }, "a heartbeat after the outage");
    expect((await runPass(ctx)).expired).toEqual([]);
    writeFileSync(join(store!.dir, "data", "gate"), "go");
    await first.idle();
    const { state } = await loadTask(ctx, id);
    expect({ status: state.status, attempt: state.attempt }).toEqual({ status: "review", attempt: 1 });
  });
});
