import { describe, expect, it } from "vitest";
import { showTask } from "../../src/app/views.ts";
import { runPass } from "../../resolver/pass.ts";
import { startHttp, type Server } from "../../handlers/http/serve.ts";
import { httpPort } from "../../runner/port.ts";
import type { AppContext } from "../../src/app/context.ts";
import { cleanupAfterEach, tempAppWithEnv } from "../helpers.ts";

const TOKEN = "api-secret-token";
const RUNNER_TOKEN = "runner-secret-token";

describe("the HTTP API on loopback", () => {
  const later = cleanupAfterEach();

  async function serve(token: string | null = TOKEN, runnerToken: string | null = RUNNER_TOKEN): Promise<{ ctx: AppContext; base: string; server: Server }> {
    const tokens = { ...(token ? { COS_API_TOKEN: token } : {}), ...(runnerToken ? { COS_RUNNER_TOKEN: runnerToken } : {}) };
    const { ctx } = await tempAppWithEnv(later, { agents: { scout: { command: ["true"] } } }, { COS_PORT: "0", ...tokens });
    const server = await startHttp(ctx);
    later(() => server.close());
    return { ctx, base: `http://127.0.0.1:${server.port}`, server };
  }

  const post = (base: string, path: string, body: unknown, token: string | null = TOKEN) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it("answers /healthz without a token", async () => {
    const { base } = await serve();
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, position: 0 });
  });

  it("refuses the API without the bearer token, with a wrong one, and entirely when no token is configured", async () => {
    const { base } = await serve();
    expect((await post(base, "/api/tasks", {}, null)).status).toBe(401);
    expect((await post(base, "/api/tasks", {}, "wrong")).status).toBe(401);
    expect((await fetch(`${base}/api/tasks`)).status).toBe(401);
    const closed = await serve(null, null);
    const response = await post(closed.base, "/api/tasks", { title: "x", type: "research", agent: "scout" });
    expect(response.status).toBe(401);
    expect((await response.json()).error.message).toMatch(/COS_API_TOKEN/);
    const noRunners = await post(closed.base, "/runner/claim", { runner: "r", slots: 1 }, "anything");
    expect(noRunners.status).toBe(401);
    expect((await noRunners.json()).error.message).toMatch(/COS_RUNNER_TOKEN/);
  });

  it("queues, lists and shows tasks, and says what is wrong with a bad body", async () => {
    const { base } = await serve();
    const created = await post(base, "/api/tasks", { title: "Find sources", type: "research", agent: "scout" });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ id: 1 });
    const bad = await post(base, "/api/tasks", { title: "x", type: "research", agent: "scout", priority: "high" });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/^priority: /);
    const unknown = await post(base, "/api/tasks", { title: "x", type: "research", agent: "nobody" });
    expect(unknown.status).toBe(400);
    const list = await fetch(`${base}/api/tasks`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect((await list.json()).map((t: { id: number }) => t.id)).toEqual([1]);
    const missing = await fetch(`${base}/api/tasks/99`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(missing.status).toBe(404);
  });

  it("runs the runner protocol end to end: claim, heartbeat, report, and a verdict", async () => {
    const { ctx, base } = await serve();
    const queued = await post(base, "/api/tasks", { title: "Find sources", type: "research", agent: "scout" });
    const { id } = await queued.json();
    await runPass(ctx);
    const port = httpPort(base, RUNNER_TOKEN);
    const [run] = await port.claim({ runner: "remote-1", slots: 1, labels: [] });
    expect(run).toMatchObject({ taskId: id, attempt: 1, agent: "scout" });
    expect((await port.heartbeat(id, 1, "remote-1")).leaseUntil).toMatch(/^\d{4}-/);
    await expect(port.heartbeat(id, 1, "someone-else")).rejects.toThrow(/lease lost/);
    await port.report(id, 1, "remote-1", { kind: "result", markdown: "## Summary\nFound three.", exitCode: 0, durationMs: 10, diffStat: null, usage: null });
    await expect(
      port.report(id, 1, "remote-1", { kind: "result", markdown: "again", exitCode: 0, durationMs: 10, diffStat: null, usage: null }),
    ).rejects.toThrow(/review/);
    const verdict = await post(base, `/api/tasks/${id}/verdict`, { verdict: "approved" });
    expect(verdict.status).toBe(200);
    expect((await showTask(ctx, id)).status).toBe("approved");
    const again = await post(base, `/api/tasks/${id}/verdict`, { verdict: "approved" });
    expect(again.status).toBe(409);
  });

  it("refuses unknown fields with a 400 that names them and the field meant, before anything is stored", async () => {
    const { ctx, base } = await serve();
    const refused = async (path: string, body: unknown, message: string, token = TOKEN) => {
      const response = await post(base, path, body, token);
      expect(response.status).toBe(400);
      expect((await response.json()).error).toEqual({ code: "validation", message });
    };
    await refused("/api/tasks", { title: "x", type: "research", agent: "scout", blocked_by: [1] }, 'unknown field "blocked_by"; did you mean "blockedBy"?');
    await refused("/api/tasks", { title: "x", type: "research", agent: "scout", after: [1] }, 'unknown field "after"; did you mean "blockedBy"?');
    await refused("/api/tasks", { title: "x", type: "research", agent: "scout", priorty: 2 }, 'unknown field "priorty"; did you mean "priority"?');
    expect(await ctx.db.query("SELECT id FROM tasks")).toEqual([]);

    const created = await post(base, "/api/tasks", { title: "Find sources", type: "research", agent: "scout" });
    const { id } = await created.json();
    await runPass(ctx);
    const port = httpPort(base, RUNNER_TOKEN);
    await port.claim({ runner: "remote-1", slots: 1 });
    await refused(
      "/runner/report",
      { taskId: id, attempt: 1, runner: "remote-1", outcome: { kind: "result", markdown: "x", exitCode: 0, durationMs: 1, diffStat: null, usage: null, diff_stat: null } },
      'outcome: unknown field "diff_stat"; did you mean "diffStat"?',
      RUNNER_TOKEN,
    );
    await port.report(id, 1, "remote-1", { kind: "result", markdown: "## Summary\nFound.", exitCode: 0, durationMs: 1, diffStat: null, usage: null });
    // A verdict's note is not lost: refused with the field's name, and the task stays in review.
    await refused(`/api/tasks/${id}/verdict`, { verdict: "sent_back", note: "use primary sources" }, 'unknown field "note"; did you mean "notes"?');
    expect((await showTask(ctx, id)).status).toBe("review");
    const sent = await post(base, `/api/tasks/${id}/verdict`, { verdict: "sent_back", notes: "use primary sources" });
    expect(sent.status).toBe(200);
    expect((await showTask(ctx, id)).feedback?.notes).toBe("use primary sources");
  });
});
