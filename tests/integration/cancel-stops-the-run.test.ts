import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runPass } from "../../resolver/pass.ts";
import { httpPort, localPort, type RunnerPort } from "../../runner/port.ts";
import { Runner } from "../../runner/runner.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { showTask } from "../../src/app/views.ts";
import { startHttp } from "../../handlers/http/serve.ts";
import { messageUpdate } from "../fixtures/fake-telegram.ts";
import { processAlive } from "../fixtures/agents/harness.ts";
import { ROOT, runCli } from "../helpers.ts";
import { waitFor } from "../wait.ts";
import { CHAT, OWNER, siteRepo, startHarness, type Harness } from "./telegram-kit.ts";

// Issue #14, item 4: a cancel stops the run now. The agent's process group is gone within seconds
// (not at the next heartbeat, a quarter lease later), its worktree is freed, and the person is told so:
// from chat, from `cos task cancel`, and for a remote `cos runner` too.

const SLEEPER = join(ROOT, "tests/fixtures/sleeper-agent.mjs");


describe("cancelling a running task", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function running(port?: (h: Harness) => Promise<RunnerPort>) {
    const h = await startHarness({
      mode: "polling",
      config: {
        agents: { sleeper: { command: ["node", SLEEPER], env: ["PID_FILE"] } },
        projects: { site: { repo: "./site", mainBranch: "main" } },
        worktreeRoot: "./data/worktrees",
      },
      env: { COS_RUNNER_TOKEN: "runner-token-0123456789" },
    });
    cleanups.push(h.close);
    siteRepo(h.ws.dir);
    const pidFile = join(h.ws.dir, "pids.json");
    const runner = new Runner(port ? await port(h) : localPort(h.ctx), {
      id: "night-runner",
      slots: 1,
      labels: [],
      config: h.ctx.config,
      dataDir: join(h.ws.dir, "data"),
      sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME, PID_FILE: pidFile },
      clock: h.ctx.clock,
    });
    cleanups.push(() => runner.stop());
    const id = await queueTask(h.ctx, { title: "Sleep on it", type: "code", agent: "sleeper" }, "cli");
    await runPass(h.ctx);
    await runner.poll([id]);
    await waitFor(() => existsSync(pidFile), "the agent to start", 15_000);
    const pids = JSON.parse(readFileSync(pidFile, "utf8")) as { agent: number; grandchild: number };
    const worktree = join(h.ws.dir, "data", "worktrees", String(id));
    expect(existsSync(worktree)).toBe(true);
    return { h, id, pids, worktree, runner };
  }

  const gone = (pids: { agent: number; grandchild: number }) => !processAlive(pids.agent) && !processAlive(pids.grandchild);

  it("from chat: /cancel ends the agent within five seconds, frees its worktree and says so", async () => {
    const { h, id, pids, worktree, runner } = await running();
    await h.send(messageUpdate(`/cancel ${id}`, { from: OWNER }));
    await h.settle();
    expect(h.fake.messagesIn(OWNER).at(-1)!.text).toBe(
      `#${id} cancelled.\nIts agent on night-runner is being stopped and its worktree freed; you will hear when it has.`,
    );
    // The requirement itself: gone within 5 s of the cancel.
    await waitFor(() => gone(pids), "the agent's processes to be gone", 5_000);
    await runner.idle();
    expect(existsSync(worktree)).toBe(false);
    await h.settle();
    const stopped = h.fake.messagesIn(CHAT).find((m) => m.text.startsWith(`⏹ #${id} Sleep on it: its run stopped`));
    expect(stopped?.text).toBe(
      `⏹ #${id} Sleep on it: its run stopped\nits agent on runner night-runner was ended (attempt 1)\nits worktree ${worktree} was removed; its branch stays`,
    );
    const task = await showTask(h.ctx, id);
    expect(task.status).toBe("cancelled");
    expect(task.activity.at(-1)!.text).toBe(`run stopped on night-runner: its agent was ended; worktree ${worktree} removed (its branch stays)`);
  });

  it("from the CLI: cos task cancel waits for the runner and says the agent was stopped", async () => {
    const { h, id, pids, worktree } = await running();
    // The CLI's clock is the test's (a store refuses events dated before its newest).
    const cancel = await runCli(["task", "cancel", String(id)], { env: { ...h.ws.env, COS_NOW: h.clock.iso() }, cwd: h.ws.dir });
    expect(cancel.stderr).toBe("");
    expect(cancel.stdout.trim()).toBe(`#${id} cancelled; its agent on night-runner was stopped, and its worktree ${worktree} removed (its branch stays)`);
    expect(gone(pids)).toBe(true);
    expect(existsSync(worktree)).toBe(false);
  });

  it("on a remote runner: the stop reaches it over HTTP as fast", async () => {
    const { h, id, pids, worktree, runner } = await running(async (harness) => {
      const server = await startHttp(harness.ctx, harness.app);
      cleanups.push(() => server.close());
      return httpPort(`http://127.0.0.1:${server.port}`, "runner-token-0123456789");
    });
    await h.send(messageUpdate(`/cancel ${id}`, { from: OWNER }));
    await h.settle();
    await waitFor(() => gone(pids), "the remote agent's processes to be gone", 5_000);
    await runner.idle();
    expect(existsSync(worktree)).toBe(false);
    expect((await h.ctx.store.readStream(`task-${id}`)).map((e) => e.type)).toContain("TaskRunStopped");
  });
});
