import { afterEach, describe, expect, it } from "vitest";
import { queueTask } from "../../src/app/tasks.ts";
import { appendTime } from "../../src/store/clock-check.ts";
import { runCli, tempApp, tempWorkspace, type TempWorkspace } from "../helpers.ts";
import { dispatch, readLog } from "./store-helpers.ts";

// Event times never go backwards in a stream, and a process whose clock is more than a minute behind the newest
// event refuses to write (issue 12). COS_NOW is a process's clock like any other.

describe("the store's clock check", () => {
  it("dates an event no earlier than its stream's last, and refuses a clock more than a minute behind the log", () => {
    const newest = { at: "2026-11-23T22:10:00.000Z", position: 9, actor: "runner:a" };
    const streams = new Map([["task-1", "2026-11-23T22:10:00.000Z"]]);
    expect(appendTime("2026-11-23T22:11:00.000Z", { newest, streams })).toBe("2026-11-23T22:11:00.000Z");
    expect(appendTime("2026-11-23T22:09:30.000Z", { newest, streams })).toBe("2026-11-23T22:10:00.000Z");
    expect(appendTime("2026-11-23T22:09:00.000Z", { newest, streams: new Map() })).toBe("2026-11-23T22:09:00.000Z");
    expect(() => appendTime("2026-11-23T22:08:59.000Z", { newest, streams })).toThrow(/1 min behind the newest event in the store \(#9 by runner:a/);
    expect(() => appendTime("2026-11-23T02:10:00.000Z", { newest, streams })).toThrow(/20\.0 h behind/);
    expect(appendTime("2026-11-23T02:10:00.000Z", { newest: null, streams: new Map() })).toBe("2026-11-23T02:10:00.000Z");
  });
});

describe("a process whose clock runs behind", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it("refuses to record a result 20 h in the past, saying so, and writes nothing; a minute's skew is dated forward instead", async () => {
    const app = await tempApp(undefined, "2026-11-23T22:00:00.000Z");
    cleanups.push(app.close);
    const { ctx, ws } = app;
    const id = await queueTask(ctx, { title: "Research", type: "research", agent: "builder" }, "cli");
    await dispatch(ctx, id);
    const before = (await readLog(ctx.db)).length;

    const behind = await runCli(["result", String(id)], { env: { ...ws.env, COS_NOW: "2026-11-23T02:00:00.000Z" }, cwd: ws.dir, stdin: "## Summary\nDone." });
    expect(behind.code).toBe(2);
    expect(behind.stderr).toMatch(/refused to write: this process's clock says 2026-11-23T02:00:00.000Z, 20.0 h behind the newest event/);
    expect(behind.stderr).toMatch(/COS_NOW is set, move it past 2026-11-23T22:00:00.000Z/);
    expect((await readLog(ctx.db)).length).toBe(before);

    const skewed = await runCli(["result", String(id)], { env: { ...ws.env, COS_NOW: "2026-11-23T21:59:20.000Z" }, cwd: ws.dir, stdin: "## Summary\nDone." });
    expect(skewed.code, skewed.stderr).toBe(0);
    const log = await readLog(ctx.db);
    const result = log.find((e) => e.type === "TaskResultReported")!;
    expect(result.meta.at).toBe("2026-11-23T22:00:00.000Z");
    const times = log.filter((e) => e.stream === `task-${id}`).map((e) => e.meta.at);
    expect([...times].sort()).toEqual(times);
  });

  it("holds for a fresh store too: nothing to be behind of", async () => {
    const ws: TempWorkspace = tempWorkspace();
    cleanups.push(ws.cleanup);
    const r = await runCli(["goal", "add", "Launch"], { env: { ...ws.env, COS_NOW: "2001-01-01T00:00:00.000Z" }, cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
  });
});
