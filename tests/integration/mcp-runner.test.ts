import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reportRun } from "../../src/app/runs.ts";
import { loadTask, queueTask } from "../../src/app/tasks.ts";
import { Runner } from "../../runner/runner.ts";
import { localPort } from "../../runner/port.ts";
import { runPass } from "../../resolver/pass.ts";
import { closeAfterEach, ROOT } from "../helpers.ts";
import { MCP_TEST_CONFIG, mcpApp, startRun } from "./mcp-kit.ts";

describe("an agent run with the MCP server", () => {
  const keep = closeAfterEach();

  it("gets COS_MCP_URL and COS_MCP_TOKEN, and its tools act on its own task and project", async () => {
    const toolsmith = { command: ["node", join(ROOT, "tests", "fixtures", "mcp-agent.mjs")] };
    const app = keep(await mcpApp({ ...MCP_TEST_CONFIG, agents: { ...MCP_TEST_CONFIG.agents, toolsmith } }));
    const { ctx } = app;
    const earlier = await startRun(ctx, { project: null, title: "Speed up the home page" });
    await reportRun(ctx, earlier.taskId, earlier.attempt, "r1", {
      kind: "result",
      markdown: "## Summary\nPreloaded the webfonts.\n",
      exitCode: 0,
      durationMs: 5,
      diffStat: null,
      usage: null,
    });
    const id = await queueTask(ctx, { title: "Write about speed", type: "research", agent: "toolsmith", project: null }, "cli");
    expect((await runPass(ctx)).dispatched.map((d) => d.taskId)).toEqual([id]);
    const runner = new Runner(localPort(ctx), {
      id: "mcp-runner",
      slots: 1,
      labels: [],
      config: ctx.config,
      dataDir: join(app.ws.dir, "data"),
      sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME },
      clock: ctx.clock,
      mcpUrl: app.url,
    });
    await runner.poll([id]);
    await runner.idle();

    const { state } = await loadTask(ctx, id);
    expect(state.failure).toBeNull();
    expect(state.status).toBe("review");
    expect(state.activity.map((a) => a.text)).toContain("toolsmith: looked at the tools");
    expect(state.result!.summary).toContain(`"taskId":${earlier.taskId}`);
    const followUp = await ctx.db.query<{ id: number; project: string | null; tier_pin: string }>(
      "SELECT t.id, t.project, t.tier_pin FROM tasks t JOIN task_origins o ON o.task_id = t.id WHERE o.parent_task_id = ?",
      [id],
    );
    expect(followUp.map((r) => ({ ...r }))).toEqual([{ id: id + 1, project: null, tier_pin: "gate" }]);
    expect(state.result!.summary).toContain(`"id": ${id + 1}`);
    const prompt = readFileSync(join(app.ws.dir, "data", "runs", `${id}-1`, "prompt.md"), "utf8");
    expect(prompt).toContain("Write about speed");
  });
});
