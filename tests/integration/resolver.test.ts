import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { cancelTask, loadTask, queueTask, recordResult, recordVerdict } from "../../src/app/tasks.ts";
import { showTask } from "../../src/app/views.ts";
import { runPass } from "../../resolver/pass.ts";
import { explain } from "../../src/plan/explain.ts";
import type { AppContext } from "../../src/app/context.ts";
import { COS_BIN, runCli, tempApp, tempWorkspace } from "../helpers.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { parseEnv } from "../../src/config/env.ts";
import { ResolverLoop } from "../../resolver/loop.ts";
import { ManualTimers } from "../timers.ts";
import { waitFor } from "../wait.ts";

const agents = (names: string[]) =>
  Object.fromEntries(names.map((n) => [n, { command: ["node", "-e", "console.log('ok')"] }]));

describe("the resolver against a real store", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function deliver(ctx: AppContext, id: number, verdict: "approved" | "sent_back" | "discarded") {
    const report = await runPass(ctx);
    expect(report.dispatched.map((d) => d.taskId)).toContain(id);
    await recordResult(ctx, id, { markdown: `## Summary\nDone ${id}.`, exitCode: 0 }, "cli");
    await recordVerdict(ctx, id, verdict, verdict === "sent_back" ? "again" : null, "user:telegram:1");
  }

  it("gives the seed's agent its next code task at tier quick with the exact trust note, and records TierChanged", async () => {
    const app = await tempApp({ agents: agents(["builder"]), projects: { site: { repo: "./site" } } });
    cleanups.push(app.close);
    const { ctx } = app;
    for (let i = 0; i < 15; i++) {
      const id = await queueTask(ctx, { title: `Code ${i}`, type: "code", agent: "builder" }, "cli");
      await deliver(ctx, id, i === 3 ? "discarded" : "approved");
    }
    const tierEvents = (await ctx.store.readAll({ limit: 10_000 })).filter((e) => e.type === "TierChanged");
    expect(tierEvents).toHaveLength(1);
    expect(tierEvents[0]!.data).toMatchObject({ agent: "builder", type: "code", from: "gate", to: "quick", reason: "trust", n: 15 });

    const next = await queueTask(ctx, { title: "Next code", type: "code", agent: "builder" }, "cli");
    const report = await runPass(ctx);
    expect(report.dispatched).toEqual([
      expect.objectContaining({ taskId: next, tier: "quick", note: "Trust-based tier gate → quick (approval: 93%, sendBack: 0%, n=15)" }),
    ]);
    const view = await showTask(ctx, next);
    expect(view.tier).toBe("quick");
    expect(view.activity.map((a) => a.text)).toContain("Trust-based tier gate → quick (approval: 93%, sendBack: 0%, n=15)");
  });

  it("drops an auto agent to quick after 4 send-backs in its last 10 verdicts", async () => {
    const app = await tempApp({ agents: agents(["scout"]) });
    cleanups.push(app.close);
    const { ctx } = app;
    const pattern: ("approved" | "sent_back")[] = ["approved", "approved", "sent_back", "approved", "sent_back", "approved", "sent_back", "approved", "approved", "sent_back"];
    for (const verdict of pattern) {
      const id = await queueTask(ctx, { title: `Research ${verdict}`, type: "research", agent: "scout" }, "cli");
      await deliver(ctx, id, verdict);
      // A sent-back task is queued again; cancel it so it does not take the agent's next dispatch.
      if (verdict === "sent_back") await cancelTask(ctx, id, "test: keep the agent free", "cli");
    }
    const next = await queueTask(ctx, { title: "One more", type: "research", agent: "scout" }, "cli");
    const report = await runPass(ctx);
    expect(report.dispatched).toEqual([
      expect.objectContaining({ taskId: next, tier: "quick", note: "Trust-based tier auto → quick (approval: 60%, sendBack: 40%, n=10)" }),
    ]);
    const changes = (await ctx.store.readAll({ limit: 10_000 })).filter((e) => e.type === "TierChanged");
    expect(changes.map((e) => (e.data as { to: string }).to)).toEqual(["quick"]);
  });

  it("expires an unclaimed dispatch after the claim timeout without spending an attempt, and auto-approves on the tier timer", async () => {
    const app = await tempApp({ agents: agents(["scout"]) });
    cleanups.push(app.close);
    const { ctx, clock } = app;
    const id = await queueTask(ctx, { title: "Look things up", type: "research", agent: "scout" }, "cli");
    expect((await runPass(ctx)).dispatched).toHaveLength(1);
    clock.advance(2 * 60_000 + 1);
    const report = await runPass(ctx);
    expect(report.expired).toEqual([{ taskId: id, attempt: 1, claimed: false }]);
    let view = await showTask(ctx, id);
    expect(view).toMatchObject({ status: "queued", attempt: 1 });

    expect((await runPass(ctx)).dispatched.map((d) => d.taskId)).toEqual([id]);
    await recordResult(ctx, id, { markdown: "## Summary\nFound it.", exitCode: 0 }, "cli");
    clock.advance(18 * 3600_000 - 1000);
    expect((await runPass(ctx)).autoApproved).toEqual([]);
    expect((await explain(ctx, id)).text).toMatch(/in review \(tier auto\): approved on its own at/);
    clock.advance(1000);
    expect((await runPass(ctx)).autoApproved).toEqual([{ taskId: id, tier: "auto", spotCheck: false }]);
    view = await showTask(ctx, id);
    expect(view.status).toBe("approved");
  });

  it("explains holds in words", async () => {
    const app = await tempApp({ agents: agents(["builder", "writer"]) });
    cleanups.push(app.close);
    const { ctx } = app;
    const a = await queueTask(ctx, { title: "A", type: "research", agent: "builder", area: "blog" }, "cli");
    const b = await queueTask(ctx, { title: "B", type: "research", agent: "builder" }, "cli");
    const c = await queueTask(ctx, { title: "C", type: "research", agent: "writer", area: "blog" }, "cli");
    const d = await queueTask(ctx, { title: "D", type: "research", agent: "writer", blockedBy: [a] }, "cli");
    await runPass(ctx);
    expect((await explain(ctx, b)).text).toBe(`#${b}: builder is busy with #${a}`);
    expect((await explain(ctx, c)).text).toBe(`#${c}: area "blog" is held by #${a}`);
    expect((await explain(ctx, d)).text).toBe(`#${d}: waiting for #${a} (dispatched)`);
  });

  it("dispatches each ready task exactly once when two cos tick processes run at once", async () => {
    const names = Array.from({ length: 24 }, (_, i) => `agent${i}`);
    const ws = tempWorkspace({ agents: agents(names), resolver: { maxConcurrent: 100 } });
    cleanups.push(ws.cleanup);
    const ctx = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    for (const name of names) await queueTask(ctx, { title: `Task for ${name}`, type: "research", agent: name }, "cli");

    const [one, two] = await Promise.all([runCli(["tick", "--json"], { env: ws.env }), runCli(["tick", "--json"], { env: ws.env })]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    const ids = [...JSON.parse(one.stdout).dispatched, ...JSON.parse(two.stdout).dispatched].map((d: { taskId: number }) => d.taskId);
    expect(ids.sort((x, y) => x - y)).toEqual(names.map((_, i) => i + 1));
    const dispatchedEvents = (await ctx.store.readAll({ limit: 10_000 })).filter((e) => e.type === "TaskDispatched");
    expect(dispatchedEvents).toHaveLength(names.length);
  });

  // How soon is the bench's figure (resolver.dispatch_latency_*); the test below shows why it is soon.
  it("with cos serve running, dispatches a dependent after its blocker's approval", async () => {
    const ws = tempWorkspace({ agents: agents(["builder", "writer"]) });
    cleanups.push(ws.cleanup);
    const env = { ...ws.env, COS_PORT: "0" };
    const ctx = await openApp({ env: parseEnv(env), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    const blocker = await queueTask(ctx, { title: "Engine", type: "research", agent: "builder" }, "cli");
    const dependent = await queueTask(ctx, { title: "Post", type: "content", agent: "writer", blockedBy: [blocker] }, "cli");

    const server = spawn(process.execPath, [COS_BIN, "serve"], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    cleanups.push(() => {
      server.kill("SIGTERM");
    });
    const statusOf = async (id: number) => (await showTask(ctx, id)).status;
    // The server's own runner claims and runs the blocker as soon as it is dispatched.
    await waitFor(async () => (await statusOf(blocker)) === "review", "the blocker to be run and in review");
    expect(await statusOf(dependent)).toBe("queued");
    await recordVerdict(ctx, blocker, "approved", null, "cli");
    await waitFor(async () => (await loadTask(ctx, dependent)).state.dispatchedAt !== null, "the dependent to be dispatched");
  });

  it("passes as soon as the store's file shows another process approved a blocker: not by a timer, not at the minute's pass", async () => {
    const ws = tempWorkspace({ agents: agents(["builder", "writer"]) });
    cleanups.push(ws.cleanup);
    const serving = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => serving.db.close());
    // Another process's connection to the same store: the loop hears of its events only through the file.
    const other = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => other.db.close());
    const blocker = await queueTask(other, { title: "Engine", type: "research", agent: "builder" }, "cli");
    const dependent = await queueTask(other, { title: "Post", type: "content", agent: "writer", blockedBy: [blocker] }, "cli");

    const timers = new ManualTimers(); // never moved: no timer is what finds the approval
    const passes: number[][] = [];
    const loop = new ResolverLoop(serving, {
      timers,
      everyMinute: () => () => {}, // the minute never comes in this test
      onPass: (report) => passes.push(report.dispatched.map((d) => d.taskId)),
    });
    await loop.start();
    cleanups.push(() => loop.stop());
    expect(passes).toEqual([[blocker]]);

    await recordResult(other, blocker, { markdown: "## Summary\nBuilt.", exitCode: 0 }, "cli");
    await recordVerdict(other, blocker, "approved", null, "cli");
    await waitFor(async () => (await showTask(other, dependent)).status === "dispatched", "the dependent to be dispatched");
    expect(passes.flat()).toEqual([blocker, dependent]);
  });
});
