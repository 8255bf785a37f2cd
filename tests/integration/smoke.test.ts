import { afterEach, describe, expect, it } from "vitest";
import { queueTask, recordResult } from "../../src/app/tasks.ts";
import { listTasks, showTask } from "../../src/app/views.ts";
import { runCli, tempApp, tempWorkspace } from "../helpers.ts";

describe("the spine end to end", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it("queues a task in-process and lists it", async () => {
    const app = await tempApp();
    cleanups.push(app.close);
    const id = await queueTask(app.ctx, { title: "Write the post", type: "content", agent: "writer" }, "cli");
    expect(id).toBe(1);
    const list = await listTasks(app.ctx);
    expect(list.map((t) => [t.id, t.status])).toEqual([[1, "queued"]]);
    await expect(recordResult(app.ctx, 1, { markdown: "x", exitCode: 0 }, "cli")).rejects.toThrow(/never dispatched/);
    expect((await showTask(app.ctx, 1)).activity).toHaveLength(1);
  });

  it("runs the real bin: add, show --json, and a one-line error with exit 2", async () => {
    const ws = tempWorkspace();
    cleanups.push(ws.cleanup);
    const add = await runCli(["task", "add", "Research MDX", "--type", "research", "--agent", "builder"], { env: ws.env });
    expect(add).toMatchObject({ code: 0, stdout: "1\n" });
    const show = await runCli(["task", "show", "1", "--json"], { env: ws.env });
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 1, title: "Research MDX", status: "queued", attempt: 1 });
    const bad = await runCli(["verdict", "1", "approve"], { env: ws.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/not in review/);
  });
});
