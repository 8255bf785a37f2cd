import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reportRun } from "../../src/app/runs.ts";
import { loadTask } from "../../src/app/tasks.ts";
import { saveContentItem } from "../../src/app/content.ts";
import { call, claim, httpConnect, mcpApp, startRun, stdioConnect, type Connect, type McpApp } from "./mcp-kit.ts";
import { liveAndRebuilt } from "./store-helpers.ts";
import { COS_BIN } from "../helpers.ts";

const result = (markdown: string) => ({ kind: "result" as const, markdown, exitCode: 0, durationMs: 10, diffStat: null, usage: null });

describe.each([
  ["streamable HTTP", httpConnect],
  ["stdio (cos mcp)", stdioConnect],
] as const)("the MCP server over %s", (_transport, connector) => {
  let app: McpApp;
  let connect: Connect;
  const opened: Client[] = [];
  beforeEach(async () => {
    app = await mcpApp();
    connect = connector(app, opened);
  });
  afterEach(async () => {
    for (const client of opened.splice(0)) await client.close();
    await app.close();
  });

  it("lists its five tools, each with an input schema", async () => {
    const run = await startRun(app.ctx, { project: "site" });
    const { tools } = await (await connect(run.token)).listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["create_task", "log_activity", "report_signal", "search_memory", "update_content_item"]);
    const create = tools.find((t) => t.name === "create_task")!;
    expect(create.inputSchema.required).toEqual(["title"]);
    expect(Object.keys(create.inputSchema.properties ?? {})).not.toContain("tier");
  });

  it("create_task queues a follow-up in the same project at tier gate, after the creating task, with its creator recorded", async () => {
    const run = await startRun(app.ctx, { project: "site", goalId: null });
    const client = await connect(run.token);
    const answer = await call(client, "create_task", { title: "Add an RSS feed", description: "Readers asked for it" });
    expect(answer.isError).toBe(false);
    expect(answer.value).toMatchObject({ blockedBy: [run.taskId], tier: "gate", leftThisRun: 2, leftTonight: 4 });
    const { state } = await loadTask(app.ctx, answer.value!.id);
    expect(state).toMatchObject({
      title: "Add an RSS feed",
      project: "site",
      agent: "writer",
      type: "research",
      tierPin: "gate",
      priority: 0,
      blockedBy: [run.taskId],
      createdBy: { taskId: run.taskId, attempt: 1, generation: 1 },
      status: "queued",
    });
  });

  it("create_task refuses bad input, a tier or a priority, and a blocker of another project", async () => {
    const other = await startRun(app.ctx, { project: "shop", agent: "builder" });
    const run = await startRun(app.ctx, { project: "site" });
    const client = await connect(run.token);
    const noTitle = await call(client, "create_task", { description: "no title" });
    expect(noTitle).toMatchObject({ isError: true });
    expect(noTitle.text).toMatch(/title/);
    const tier = await call(client, "create_task", { title: "Ship it", tier: "auto" });
    expect(tier.isError).toBe(true);
    expect(tier.text).toMatch(/tier/);
    expect((await call(client, "create_task", { title: "Ship it", priority: 9 })).text).toMatch(/priority/);
    const foreign = await call(client, "create_task", { title: "Ship it", blockedBy: [other.taskId] });
    expect(foreign).toMatchObject({ isError: true, text: `task #${other.taskId} does not exist in this project` });
    expect((await call(client, "create_task", { title: "Ship it", agent: "nobody" })).text).toMatch(/unknown agent "nobody"/);
    const count = await app.ctx.db.query("SELECT id FROM tasks");
    expect(count).toHaveLength(2);
  });

  it("log_activity notes on the run's own task, and refuses an empty or oversized note", async () => {
    const run = await startRun(app.ctx, { project: "site" });
    const client = await connect(run.token);
    expect(await call(client, "log_activity", { text: "drafted the intro" })).toMatchObject({ isError: false, value: { taskId: run.taskId } });
    expect((await call(client, "log_activity", { text: "" })).isError).toBe(true);
    expect((await call(client, "log_activity", { text: "x".repeat(2001) })).isError).toBe(true);
    expect((await call(client, "log_activity", { text: "hi", taskId: 99 })).text).toMatch(/taskId/);
    const { state } = await loadTask(app.ctx, run.taskId);
    expect(state.activity.at(-1)!.text).toBe("writer: drafted the intro");
  });

  it("update_content_item creates and changes an item, and refuses a bad status and another project's item", async () => {
    const theirs = await saveContentItem(app.ctx, "shop", { title: "Shop launch", channel: "x" }, "cli", null);
    const run = await startRun(app.ctx, { project: "site", type: "content" });
    const client = await connect(run.token);
    const created = await call(client, "update_content_item", { title: "Launch post", channel: "Blog" });
    expect(created).toMatchObject({ isError: false, value: { created: true, item: { title: "Launch post", channel: "blog", status: "draft", project: "site" } } });
    const id = created.value!.item.id;
    const published = await call(client, "update_content_item", { id, status: "published", url: "https://example.com/launch" });
    expect(published.value).toMatchObject({ created: false, changed: true, item: { id, status: "published", url: "https://example.com/launch" } });
    expect((await call(client, "update_content_item", { id, status: "viral" })).isError).toBe(true);
    expect((await call(client, "update_content_item", { title: "No channel" })).text).toMatch(/needs a title and a channel/);
    expect((await call(client, "update_content_item", { id, url: "ftp://x" })).text).toMatch(/http/);
    const foreign = await call(client, "update_content_item", { id: theirs.item.id, title: "Mine now" });
    expect(foreign).toMatchObject({ isError: true, text: `content item #${theirs.item.id} does not exist in this project` });
    const rows = await app.ctx.db.query<{ title: string }>("SELECT title FROM content_items WHERE id = ?", [theirs.item.id]);
    expect(rows[0]!.title).toBe("Shop launch");
  });

  it("report_signal records a signal, and refuses a bad metric, a non-number, a future time and another project's item", async () => {
    const theirs = await saveContentItem(app.ctx, "shop", { title: "Shop launch", channel: "x" }, "cli", null);
    const mine = await saveContentItem(app.ctx, "site", { title: "Launch post", channel: "blog" }, "cli", null);
    const run = await startRun(app.ctx, { project: "site", type: "content" });
    const client = await connect(run.token);
    const ok = await call(client, "report_signal", { contentItemId: mine.item.id, metric: "Views", value: 120, at: "2026-11-23T08:00:00Z" });
    expect(ok).toMatchObject({ isError: false, value: { itemId: mine.item.id, metric: "views", value: 120, at: "2026-11-23T08:00:00.000Z" } });
    expect((await call(client, "report_signal", { contentItemId: mine.item.id, metric: "views!", value: 1 })).text).toMatch(/metric/);
    expect((await call(client, "report_signal", { contentItemId: mine.item.id, metric: "views", value: "lots" })).isError).toBe(true);
    expect((await call(client, "report_signal", { contentItemId: mine.item.id, metric: "views", value: 1, at: "2026-12-25T00:00:00Z" })).text).toMatch(/future/);
    const foreign = await call(client, "report_signal", { contentItemId: theirs.item.id, metric: "views", value: 1 });
    expect(foreign).toMatchObject({ isError: true, text: `content item #${theirs.item.id} does not exist in this project` });
    const signals = await app.ctx.db.query<{ item_id: number; task_id: number }>("SELECT item_id, task_id FROM content_signals");
    expect(signals.map((s) => [Number(s.item_id), Number(s.task_id)])).toEqual([[mine.item.id, run.taskId]]);
  });

  it("search_memory finds an earlier task's learning by a word in it, ranked with task ids, and never another project's", async () => {
    const earlier = await startRun(app.ctx, { project: "site", title: "Speed up the home page" });
    await reportRun(app.ctx, earlier.taskId, earlier.attempt, "r1", result("## Summary\nFaster.\n## What Worked\nPreloading the webfonts cut the largest paint by half.\n"));
    const theirs = await startRun(app.ctx, { project: "shop", agent: "builder", title: "Shop fonts" });
    await reportRun(app.ctx, theirs.taskId, theirs.attempt, "r1", result("## Summary\nPreloading webfonts in the shop too.\n"));
    const run = await startRun(app.ctx, { project: "site" });
    const client = await connect(run.token);
    const found = await call(client, "search_memory", { query: "webfonts?" });
    expect(found.isError).toBe(false);
    expect(found.value!.hits).toEqual([
      expect.objectContaining({ taskId: earlier.taskId, title: "Speed up the home page", snippet: expect.stringContaining("«webfonts»") }),
    ]);
    // Stemmed: "preload" finds "Preloading".
    expect((await call(client, "search_memory", { query: "preload" })).value!.hits.map((h: { taskId: number }) => h.taskId)).toEqual([earlier.taskId]);
    expect((await call(client, "search_memory", { query: "  ?! " })).text).toMatch(/words to search for/);
    expect((await call(client, "search_memory", { query: "fonts", limit: 0 })).isError).toBe(true);
  });

  it("every tool refuses a token whose run has ended", async () => {
    const item = await saveContentItem(app.ctx, "site", { title: "Launch post", channel: "blog" }, "cli", null);
    const run = await startRun(app.ctx, { project: "site" });
    const client = await connect(run.token);
    await reportRun(app.ctx, run.taskId, run.attempt, "r1", result("## Summary\nDone."));
    const calls: [string, Record<string, unknown>][] = [
      ["create_task", { title: "More" }],
      ["log_activity", { text: "still here" }],
      ["report_signal", { contentItemId: item.item.id, metric: "views", value: 1 }],
      ["update_content_item", { id: item.item.id, status: "published" }],
      ["search_memory", { query: "done" }],
    ];
    for (const [name, args] of calls) {
      const answer = await call(client, name, args);
      expect(answer, name).toMatchObject({ isError: true });
      expect(answer.text, name).toMatch(/run token has expired: task #\d+ attempt 1 no longer holds a lease \(the task is review/);
    }
    expect(await app.ctx.db.query("SELECT id FROM tasks")).toHaveLength(1);
  });

  it("a run that calls create_task 100 times creates maxTasksPerRun tasks and is told why for the rest", async () => {
    const run = await startRun(app.ctx, { project: "site" });
    const client = await connect(run.token);
    const answers = [];
    for (let i = 0; i < 100; i++) answers.push(await call(client, "create_task", { title: `Follow-up ${i}` }));
    expect(answers.filter((a) => !a.isError)).toHaveLength(3);
    const refusals = answers.filter((a) => a.isError);
    expect(refusals).toHaveLength(97);
    for (const r of refusals) expect(r.text).toMatch(/^refused: this run already queued 3 tasks, the most one run may \(mcp.maxTasksPerRun = 3\)/);
    const origins = await app.ctx.db.query("SELECT task_id FROM task_origins WHERE parent_task_id = ?", [run.taskId]);
    expect(origins).toHaveLength(3);
    const { live, rebuilt, rebuiltInWorker } = await liveAndRebuilt(app.ctx.db);
    expect(rebuilt).toEqual(live);
    expect(rebuiltInWorker).toEqual(live);
  });

  it("runs together create at most maxTasksPerNight tasks a night", async () => {
    const first = await startRun(app.ctx, { project: "site" });
    const second = await startRun(app.ctx, { project: "shop", agent: "builder" });
    const a = await connect(first.token);
    const b = await connect(second.token);
    for (let i = 0; i < 3; i++) expect((await call(a, "create_task", { title: `A ${i}` })).isError).toBe(false);
    for (let i = 0; i < 2; i++) expect((await call(b, "create_task", { title: `B ${i}` })).isError).toBe(false);
    const refused = await call(b, "create_task", { title: "B 3" });
    expect(refused.text).toMatch(/^refused: agents already queued 5 tasks tonight, the most allowed \(mcp.maxTasksPerNight = 5\)/);
  });

  it("stops a chain of agent-created tasks at two generations", async () => {
    const root = await startRun(app.ctx, { project: "site" });
    const child = (await call(await connect(root.token), "create_task", { title: "Generation 1" })).value!.id as number;
    const childRun = await claim(app.ctx, child);
    const grandchild = (await call(await connect(childRun.token), "create_task", { title: "Generation 2" })).value!.id as number;
    expect((await loadTask(app.ctx, grandchild)).state.createdBy).toEqual({ taskId: child, attempt: 1, generation: 2 });
    const grandchildRun = await claim(app.ctx, grandchild);
    const refused = await call(await connect(grandchildRun.token), "create_task", { title: "Generation 3" });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/chains deeper than 2 agent-created generations are not allowed/);
  });
});

describe("the MCP server's HTTP endpoint", () => {
  let app: McpApp;
  const opened: Client[] = [];
  beforeEach(async () => {
    app = await mcpApp();
  });
  afterEach(async () => {
    for (const client of opened.splice(0)) await client.close();
    await app.close();
  });

  it("answers 401 to a request without a token or with one never issued", async () => {
    for (const authorization of [undefined, "Bearer cos_run_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Bearer runner-secret"]) {
      const response = await fetch(app.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      expect(response.status).toBe(401);
    }
    await expect(httpConnect(app, opened)("cos_run_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")).rejects.toThrow(/unknown run token/);
  });

  it("refuses a token once the lease runs out on the clock, and a token of an earlier attempt", async () => {
    const run = await startRun(app.ctx, { project: "site" });
    const client = await httpConnect(app, opened)(run.token);
    expect((await call(client, "log_activity", { text: "working" })).isError).toBe(false);
    app.clock.advance(121_000);
    const late = await call(client, "log_activity", { text: "still working" });
    expect(late).toMatchObject({ isError: true });
    expect(late.text).toMatch(/run token has expired/);

    // The run is declared lost and runs again: attempt 2 gets a token of its own, and attempt 1's is gone.
    await reportRun(app.ctx, run.taskId, run.attempt, "r1", { kind: "failure", reason: "lease_lost", detail: "lease lost", retryAt: null });
    const again = await claim(app.ctx, run.taskId);
    expect(again).toMatchObject({ attempt: 2 });
    expect(again.token).not.toBe(run.token);
    await expect(client.callTool({ name: "log_activity", arguments: { text: "me again" } })).rejects.toThrow(/unknown run token/);
    const second = await httpConnect(app, opened)(again.token);
    expect(await call(second, "log_activity", { text: "attempt 2 here" })).toMatchObject({ isError: false });
  });

  it("is what `cos mcp` relays to when COS_MCP_URL is set: no store needed on the agent's side", async () => {
    const run = await startRun(app.ctx, { project: "site" });
    const client = new Client({ name: "cos-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [COS_BIN, "mcp"],
        cwd: app.ws.dir,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", COS_MCP_URL: app.url, COS_MCP_TOKEN: run.token },
        stderr: "pipe",
      }),
    );
    opened.push(client);
    expect((await client.listTools()).tools).toHaveLength(5);
    expect(await call(client, "log_activity", { text: "via the relay" })).toMatchObject({ isError: false });
    expect((await loadTask(app.ctx, run.taskId)).state.activity.at(-1)!.text).toBe("writer: via the relay");
    await reportRun(app.ctx, run.taskId, run.attempt, "r1", result("## Summary\nDone."));
    expect((await call(client, "log_activity", { text: "after the end" })).text).toMatch(/run token has expired/);
  });
});
