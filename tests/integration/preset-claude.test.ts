import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fixtures/fake-vendors/anthropic.ts";
import type { Turn } from "../fixtures/fake-vendors/scenario.ts";
import { findClaude, SUMMARY, type CliFound } from "./cli-real-kit.ts";
import { activityText, branchFiles, presetWorld, waitForTask } from "./preset-kit.ts";

// The claude-code preset as shipped, with the real Claude Code (the pinned @anthropic-ai/claude-code) under a
// real `cos serve` / `cos tick --wait`, configured as the README says, against a local Anthropic Messages API
// named by ANTHROPIC_BASE_URL in the agent's env.

const cli = findClaude();
if (!cli.ok) console.warn(`preset-claude skipped: ${cli.reason}`);

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const WRITE_HELLO = (worktree: string): Turn => ({ tool: "Write", input: { file_path: join(worktree, "hello.txt"), content: "hello from the fake model\n" } });
const builder = (env: string[]) => ({ builder: { preset: "claude-code", env } });

describe.skipIf(!cli.ok)("the claude-code preset, real Claude Code under cos", () => {
  test("takes a code task to review: the file committed on the task's branch, summary, handoff, cost and tokens, the MCP note on the task", async () => {
    const world = presetWorld(cli as CliFound, "claude", builder(["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"]), { ANTHROPIC_API_KEY: "sk-ant-api03-fake" });
    const worktree = world.worktree(1);
    fake = await startFakeAnthropic({
      turns: [
        WRITE_HELLO(worktree),
        // 2.1.332 defers MCP tools: the model loads one with ToolSearch before calling it.
        { tool: "ToolSearch", input: { query: "select:mcp__cos__log_activity" } },
        { tool: "mcp__cos__log_activity", input: { text: "wrote hello.txt" } },
        { text: SUMMARY },
      ],
    });
    world.env.ANTHROPIC_BASE_URL = fake.url;

    const added = await world.cos(["task", "add", "Say hello", "--type", "code", "--agent", "builder", "--project", "site"]);
    expect(added.code, added.stderr).toBe(0);
    const server = await world.serve();
    const task = await waitForTask(world, 1, ["review", "failed"], server.output);

    expect(task.status, `${activityText(task)}\n${server.output()}`).toBe("review");
    expect(task.result).toMatchObject({
      attempt: 1,
      exitCode: 0,
      summary: "Wrote hello.txt with a greeting.",
      handoff: "hello.txt holds one line; nothing else changed.",
      usage: { costUsd: expect.any(Number), inputTokens: 4000, outputTokens: 200 },
      cli: { name: "Claude Code", version: "2.1.332", warning: null },
    });
    expect(task.result!.usage!.costUsd).toBeGreaterThan(0);
    expect(task.activity.map((a) => a.text)).toContain("builder: wrote hello.txt");

    // The file and nothing else on the branch; no wiring file in the worktree; the user's config untouched.
    expect(branchFiles(world.repo, 1)).toEqual(["hello.txt"]);
    expect(readFileSync(join(worktree, "hello.txt"), "utf8")).toBe("hello from the fake model\n");
    const claudeJson = join(world.home, ".claude.json");
    if (existsSync(claudeJson)) expect(readFileSync(claudeJson, "utf8")).not.toContain("mcp__cos");
    const runs = readdirSync(join(world.dir, "data", "runs"));
    expect(runs).toEqual(["1-1"]);
    expect(readdirSync(join(world.dir, "data", "runs", "1-1")).sort()).toEqual(["claude-mcp.json", "output.log", "prompt.md"]);
    const prompt = readFileSync(join(world.dir, "data", "runs", "1-1", "prompt.md"), "utf8");
    expect(prompt).toContain("Your final message is the result");
    // The requests went to the fake with the key from the agent's env, the MCP call to cos serve with its token.
    expect(fake.mainRequests()[0]!.headers["x-api-key"]).toBe("sk-ant-api03-fake");
  }, 120_000);
});

if (!cli.ok) test.skip(`Claude Code cannot run here: ${cli.reason}`, () => {});
