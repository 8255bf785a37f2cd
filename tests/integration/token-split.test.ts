import { describe, expect, it } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { showTask } from "../../src/app/views.ts";
import { startHttp } from "../../handlers/http/serve.ts";
import { httpPort } from "../../runner/port.ts";
import { runPass } from "../../resolver/pass.ts";
import { cleanupAfterEach, runCli, tempAppWithEnv, tempWorkspace, type TempWorkspace } from "../helpers.ts";

// DESIGN §11: COS_API_TOKEN opens the JSON API (queue, decide, read); runner credentials open the runner protocol
// only. Whatever an agent could steal from a runner (its token, its run's MCP token) never queues, decides or reads
// a task, and a runner's own token speaks for that runner alone. Real HTTP on loopback, real `cos` for the tokens.

const API = "api-token-0123456789abcdef";
const SHARED = "shared-runner-token-0123456789";

describe("the token split", () => {
  const later = cleanupAfterEach();

  async function serve(): Promise<{ ctx: AppContext; ws: TempWorkspace; env: Record<string, string>; base: string }> {
    const { ctx, ws, env } = await tempAppWithEnv(later, { agents: { scout: { command: ["true"] } } }, { COS_PORT: "0", COS_API_TOKEN: API, COS_RUNNER_TOKEN: SHARED });
    const server = await startHttp(ctx);
    later(() => server.close());
    return { ctx, ws, env, base: `http://127.0.0.1:${server.port}` };
  }

  const call = (base: string, method: string, path: string, token: string | null, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  /** Every route that reads, queues or decides a task, and the scheduler's tick. */
  const taskRoutes = (id: number): [string, string, unknown?][] => [
    ["GET", "/api/tasks"],
    ["GET", `/api/tasks/${id}`],
    ["POST", "/api/tasks", { title: "Planted", type: "research", agent: "scout" }],
    ["POST", `/api/tasks/${id}/verdict`, { verdict: "approved" }],
    ["POST", `/api/tasks/${id}/verdict`, { verdict: "discarded" }],
    ["POST", "/cron/tick"],
  ];

  it("a runner credential, a runner's own token and a run's MCP token get 401 on every task, verdict and tick route", async () => {
    const { ctx, env, ws, base } = await serve();
    const added = await runCli(["runner", "token", "add", "box-1", "--json"], { env, cwd: ws.dir });
    expect(added.code, added.stderr).toBe(0);
    const own = JSON.parse(added.stdout).token as string;
    expect(own).toMatch(/^cosr\./);

    const id = await queueTask(ctx, { title: "Find sources", type: "research", agent: "scout" }, "cli");
    await runPass(ctx);
    const [run] = await httpPort(base, own).claim({ runner: "box-1", slots: 1 });
    expect(run?.taskId).toBe(id);
    await httpPort(base, own).report(id, 1, "box-1", { kind: "result", markdown: "## Summary\nDone.", exitCode: 0, durationMs: 1, diffStat: null, usage: null });
    expect((await showTask(ctx, id)).status).toBe("review");

    for (const [label, token] of [["COS_RUNNER_TOKEN", SHARED], ["box-1's token", own], ["the run's MCP token", run!.mcpToken!]] as const) {
      for (const [method, path, body] of taskRoutes(id)) {
        const response = await call(base, method, path, token, body);
        expect(`${label} ${method} ${path}: ${response.status}`).toBe(`${label} ${method} ${path}: 401`);
      }
    }
    // Nothing was queued, decided or ticked by any of them.
    expect((await showTask(ctx, id)).status).toBe("review");
    expect((await ctx.db.query("SELECT id FROM tasks")).length).toBe(1);

    // The API token decides, recorded as actor api; it opens nothing of the runner protocol.
    expect((await call(base, "POST", "/runner/claim", API, { runner: "box-1", slots: 1 })).status).toBe(401);
    const verdict = await call(base, "POST", `/api/tasks/${id}/verdict`, API, { verdict: "approved" });
    expect(verdict.status).toBe(200);
    const view = await showTask(ctx, id);
    expect(view.status).toBe("approved");
    expect(view.activity.at(-1)?.text).toMatch(/approved by api/);
  });

  it("a runner's own token speaks for its runner only; COS_RUNNER_TOKEN cannot speak for a runner that has one; a revoked token is refused", async () => {
    const { ctx, env, ws, base } = await serve();
    const add = async (name: string) => {
      const r = await runCli(["runner", "token", "add", name], { env, cwd: ws.dir });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split("\n")[0]!;
    };
    const one = await add("box-1");
    await add("box-2");
    // Shown once, stored as a hash: the log holds no token.
    const log = await ctx.db.query<{ data: string }>("SELECT data FROM events WHERE stream = 'runner-tokens'");
    expect(log.map((r) => r.data).join("\n")).not.toContain(one.split(".")[2]);
    const listed = await runCli(["runner", "token", "list"], { env, cwd: ws.dir });
    expect(listed.stdout).toMatch(/^box-1 .*\nbox-2 /);
    expect(listed.stdout).not.toContain(one);

    const claim = (token: string, runner: string) => call(base, "POST", "/runner/claim", token, { runner, slots: 0 });
    expect((await claim(one, "box-1")).status).toBe(200);
    const other = await claim(one, "box-2");
    expect(other.status).toBe(403);
    expect((await other.json()).error).toEqual({ code: "forbidden", message: "this token belongs to runner box-1; a request naming runner box-2 is refused" });
    expect((await call(base, "POST", "/runner/heartbeat", one, { taskId: 1, attempt: 1, runner: "box-2" })).status).toBe(403);
    expect((await call(base, "POST", "/runner/report", one, { taskId: 1, attempt: 1, runner: "box-2", outcome: { kind: "failure", reason: "exit_code", detail: "x", retryAt: null } })).status).toBe(403);
    expect((await claim(SHARED, "box-2")).status).toBe(403);
    expect((await claim(SHARED, "anyone-else")).status).toBe(200);

    const revoked = await runCli(["runner", "token", "revoke", "box-1"], { env, cwd: ws.dir });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await claim(one, "box-1")).status).toBe(401);
    // With box-1's token gone, the shared token may speak for box-1 again.
    expect((await claim(SHARED, "box-1")).status).toBe(200);

    // cos runner refuses, before it starts, a token of one runner with the id of another.
    const remote = await runCli(["runner", "--server", base, "--token", one, "--id", "box-9"], { env, cwd: ws.dir });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/this token belongs to runner box-1/);
  });

  it("refuses to start with the API token equal to the runner token", async () => {
    const ws = tempWorkspace({});
    later(ws.cleanup);
    const r = await runCli(["task", "list"], { env: { ...ws.env, COS_API_TOKEN: SHARED, COS_RUNNER_TOKEN: SHARED }, cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/COS_API_TOKEN and COS_RUNNER_TOKEN are the same/);
  });
});
