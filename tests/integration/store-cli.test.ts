import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { runCli, tempWorkspace, type TempWorkspace } from "../helpers.ts";
import { dispatch, dumpStore, openDb } from "./store-helpers.ts";

// Through the real bin: a refused command exits 2 with one line on stderr and appends nothing.
describe("cos refuses a bad command without writing", () => {
  let ws: TempWorkspace;
  let before: Record<string, string[]>;

  beforeAll(async () => {
    ws = tempWorkspace();
    const ctx = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, workspace: gitWorkspace });
    try {
      await queueTask(ctx, { title: "Never dispatched", type: "research", agent: "builder" }, "cli"); // #1
      await queueTask(ctx, { title: "Running", type: "content", agent: "writer" }, "cli"); // #2
      await dispatch(ctx, 2);
    } finally {
      await ctx.db.close();
    }
    before = await dump();
  });
  afterAll(() => ws.cleanup());

  async function dump() {
    const db = await openDb(ws.dbUrl);
    try {
      return await dumpStore(db);
    } finally {
      await db.close();
    }
  }

  it.each([
    ["a verdict on a queued task", ["verdict", "1", "approve"], /#1 is queued, not in review/],
    ["a verdict on a dispatched task", ["verdict", "2", "send-back", "--note", "redo"], /#2 is dispatched, not in review/],
    ["a result for a never-dispatched task", ["result", "1", "--exit-code", "0"], /never dispatched/],
    ["a result for an unknown task", ["result", "99"], /#99 does not exist/],
    ["a verdict on an unknown task", ["verdict", "99", "discard"], /#99 does not exist/],
    ["a cancel of an unknown task", ["task", "cancel", "99"], /#99 does not exist/],
    ["an edit that makes a task wait for itself", ["task", "edit", "1", "--after", "1"], /cannot wait for itself/],
    ["an unknown blocker", ["task", "add", "C", "--type", "research", "--agent", "builder", "--after", "42"], /unknown blocker #42/],
    ["an unknown flag", ["task", "add", "C", "--type", "research", "--agent", "builder", "--colour", "red"], /--colour/],
    ["a flag without its value", ["verdict", "2", "approve", "--note"], /--note/],
    ["a bad verdict", ["verdict", "2", "maybe"], /approve, send-back or discard/],
    ["an unknown command", ["frobnicate"], /unknown command "frobnicate"/],
    ["an unknown subcommand", ["task", "frobnicate"], /unknown command "task frobnicate"/],
    ["a stray argument to a command that takes none", ["task", "list", "queued"], /cos task list takes no arguments besides its options \(got "queued"\): usage: cos task list \[--status S\]/],
    ["a stray argument to rebuild", ["rebuild", "now"], /cos rebuild takes no arguments besides its options \(got "now"\)/],
  ])("%s: exit 2, one line on stderr, no event", async (_name, args, message) => {
    const run = await runCli(args, { env: ws.env, cwd: ws.dir, stdin: "## Summary\nDone.\n" });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
    expect(run.stderr.endsWith("\n")).toBe(true);
    expect(run.stderr.trimEnd().split("\n"), run.stderr).toHaveLength(1);
    expect(await dump()).toEqual(before);
  });

  it("says the same in one JSON line with --json", async () => {
    const run = await runCli(["verdict", "1", "approve", "--json"], { env: ws.env, cwd: ws.dir });
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(run.stderr)).toEqual({ error: { code: "illegal_state", message: expect.stringMatching(/not in review/) } });
    expect(await dump()).toEqual(before);
  });

  it("still accepts a good command afterwards, so the refusals above were not a broken store", async () => {
    const run = await runCli(["result", "2"], { env: ws.env, cwd: ws.dir, stdin: "## Summary\nDone.\n" });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const after = await dump();
    expect(after.events!.length).toBe(before.events!.length + 1);
    expect(after.events!.at(-1)).toMatch(/'TaskResultReported'/);
  });
});
