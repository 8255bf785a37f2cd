import { afterEach, describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { parseChatCommand } from "../../src/chat/grammar.ts";
import { parseEnv } from "../../src/config/env.ts";
import { taskDefinition } from "../fixtures/store-kit.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { runCli, tempWorkspace, type TempWorkspace } from "../helpers.ts";

// A title is one line of plain text (issue 12): control characters are refused at the door, whichever door, and
// the CLI never prints one raw, not even from a title recorded before the rule.

const ESC = "\u001b";

describe("titles", () => {
  let ws: TempWorkspace | null = null;
  afterEach(() => {
    ws?.cleanup();
    ws = null;
  });

  it("are refused with a control character, saying which and where; a line break points the CLI to --description", async () => {
    ws = tempWorkspace();
    const env = ws.env;
    const escape = await runCli(["task", "add", `Fix ${ESC}[2J${ESC}[31mred`, "--type", "research", "--agent", "builder"], { env, cwd: ws.dir });
    expect(escape.code).toBe(2);
    expect(escape.stderr).toMatch(/a task's title cannot hold control characters: it holds U\+001B at character 5/);
    expect(escape.stderr).not.toContain(ESC);
    const lines = await runCli(["task", "add", "First line\nsecond line", "--type", "research", "--agent", "builder"], { env, cwd: ws.dir });
    expect(lines.code).toBe(2);
    expect(lines.stderr).toMatch(/one line: put the first line in the title and the rest in --description/);
    for (const title of ["tab\there", "bidi \u202eevil", "nel \u0085x"]) {
      const refused = await runCli(["task", "add", title, "--type", "research", "--agent", "builder"], { env, cwd: ws.dir });
      expect(refused.code, title).toBe(2);
    }
    const goal = await runCli(["goal", "add", `Launch${ESC}]0;pwned${"\u0007"}`], { env, cwd: ws.dir });
    expect(goal.code).toBe(2);
    expect(goal.stderr).toMatch(/the goal's title cannot hold control characters/);
    const list = await runCli(["task", "list"], { env, cwd: ws.dir });
    expect(list.stdout.trim()).toBe("no tasks");

    // In chat, the lines after the first are the description.
    const chat = parseChatCommand("/task Outline the post #content @writer\nTone: friendly.\nAbout 800 words.");
    expect(chat.ok && chat.command.name === "task" && chat.command.task).toMatchObject({ title: "Outline the post", description: "Tone: friendly.\nAbout 800 words." });
  });

  it("recorded before the rule are printed escaped and on one line, in text and in JSON", async () => {
    ws = tempWorkspace();
    const ctx = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, workspace: gitWorkspace });
    try {
      await queueTask(ctx, { title: "Plain", type: "research", agent: "builder" }, "cli");
      // What an older version let in, written straight to the log.
      const title = `Old ${ESC}[31mred\nfake line \u009b2J \u202eevil`;
      await ctx.store.append([{ stream: "task-2", expectedVersion: 0, events: [{ type: "TaskQueued", data: taskDefinition(2, { title }) }] }], {
        at: ctx.clock().toISOString(),
        actor: "cli",
      });
    } finally {
      await ctx.db.close();
    }
    const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
    const list = await runCli(["task", "list"], { env: ws.env, cwd: ws.dir });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toMatch(unsafe);
    expect(list.stdout.trim().split("\n")).toHaveLength(2);
    expect(list.stdout).toContain("Old \\u001b[31mred\\nfake line \\u009b2J \\u202eevil");
    const show = await runCli(["task", "show", "2"], { env: ws.env, cwd: ws.dir });
    expect(show.stdout).not.toMatch(unsafe);
    expect(show.stdout.split("\n")[0]).toBe("#2 Old \\u001b[31mred\\nfake line \\u009b2J \\u202eevil");
    const json = await runCli(["task", "show", "2", "--json"], { env: ws.env, cwd: ws.dir });
    expect(json.stdout).not.toMatch(unsafe);
    expect(JSON.parse(json.stdout).title).toBe(`Old ${ESC}[31mred\nfake line \u009b2J \u202eevil`);
  });
});
