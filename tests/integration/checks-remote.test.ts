import { dirname } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { loadTask, queueTask } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { runPass } from "../../resolver/pass.ts";
import { startHttp } from "../../handlers/http/serve.ts";
import { httpPort } from "../../runner/port.ts";
import { Runner } from "../../runner/runner.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { tempWorkspace } from "../helpers.ts";
import { checksConfig, FAILS, PASSES, sandboxOf, siteRepo } from "./checks-kit.ts";

// A remote runner (`cos runner --server`) runs the checks of its own config's project and reports their outcomes
// and the paths it changed over HTTP; the server flags with its own review settings and applies its own
// onFailedChecks. The runner protocol's bodies stay strict and bounded.

const RUNNER_TOKEN = "runner-secret-token";

describe("checks on a remote runner", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function serve(config: object) {
    const ws = tempWorkspace(config);
    cleanups.push(ws.cleanup);
    const ctx = await openApp({ env: parseEnv({ ...ws.env, COS_PORT: "0", COS_RUNNER_TOKEN: RUNNER_TOKEN }), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    const server = await startHttp(ctx);
    cleanups.push(() => server.close());
    return { ctx, ws, base: `http://127.0.0.1:${server.port}` };
  }

  it("reports the check outcomes and the changed paths over HTTP; the server flags them and sends the task back once", async () => {
    const config = checksConfig([PASSES("test"), FAILS("lint")], {
      agentArgs: ["write:.github/workflows/ci.yml=on: push\\n"],
      review: { onFailedChecks: "send-back", sensitivePaths: [".github/workflows/"] },
    });
    const { ctx, ws, base } = await serve(config);
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Add CI", type: "code", agent: "builder" }, "cli");
    await runPass(ctx);
    const runner = new Runner(httpPort(base, RUNNER_TOKEN), {
      id: "remote-1",
      slots: 1,
      labels: [],
      config: ctx.config,
      dataDir: dirname(ctx.config.worktreeRoot),
      sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME },
      clock: ctx.clock,
      sandbox: await sandboxOf(ctx, ws.dir),
    });
    await runner.poll([id]);
    await runner.idle();

    const events = await ctx.store.readStream(`task-${id}`);
    const reported = events.find((e) => e.type === "TaskResultReported")!.data as { checks: { name: string; outcome: string }[]; flags: unknown[] };
    expect(reported.checks.map((c) => [c.name, c.outcome])).toEqual([["test", "passed"], ["lint", "failed"]]);
    expect(reported.flags).toEqual([{ kind: "sensitive", paths: [".github/workflows/ci.yml"], count: 1 }]);
    expect(events.map((e) => e.type)).toContain("TaskSentBackAutomatically");
    expect((await loadTask(ctx, id)).state).toMatchObject({ status: "queued", attempt: 2 });
  });

  it("refuses a report whose check record is malformed or too long, naming the field", async () => {
    const { ctx, base } = await serve(checksConfig([PASSES("test")]));
    const id = await queueTask(ctx, { title: "Find sources", type: "research", agent: "builder", project: null }, "cli");
    await runPass(ctx);
    await httpPort(base, RUNNER_TOKEN).claim({ runner: "remote-1", slots: 1 });
    const report = (extra: object) =>
      fetch(`${base}/runner/report`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${RUNNER_TOKEN}` },
        body: JSON.stringify({ taskId: id, attempt: 1, runner: "remote-1", outcome: { kind: "result", markdown: "x", exitCode: 0, durationMs: 1, diffStat: null, usage: null, ...extra } }),
      });
    const check = { name: "test", outcome: "passed", exitCode: 0, durationMs: 5, tail: [] as string[] };
    const unknown = await report({ checks: [{ ...check, passed: true }] });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error.message).toMatch(/unknown field "passed"/);
    const long = await report({ checks: [{ ...check, tail: Array.from({ length: 31 }, () => "x") }] });
    expect(long.status).toBe(400);
    expect((await report({ changes: [{ path: "a", change: "copied" }] })).status).toBe(400);
    expect((await loadTask(ctx, id)).state.status).toBe("running");
    expect((await report({ checks: [check], changes: [{ path: "a", change: "added" }] })).status).toBe(200);
    expect((await loadTask(ctx, id)).state.result!.checks).toEqual([check]);
  });
});
