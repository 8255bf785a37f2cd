import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { startFakeAnthropic } from "../fixtures/fake-vendors/anthropic.ts";
import type { Turn } from "../fixtures/fake-vendors/scenario.ts";
import { closedAfterEachTest } from "./cli-real-backends.ts";
import { findClaude, SUMMARY, type CliFound } from "./cli-real-kit.ts";
import { expectFirstTickBacksOffAMinute } from "./preset-limit-kit.ts";
import { activityText, branchFiles, HELLO_RESULT, iso, movingClock, presetWorld, queueHello, serveToReview, startOfTest } from "./preset-kit.ts";

// The claude-code preset as shipped, with the real Claude Code (the pinned @anthropic-ai/claude-code) under a
// real `cos serve` / `cos tick --wait`, configured as the README says, against a local Anthropic Messages API
// named by ANTHROPIC_BASE_URL in the agent's env.

const cli = findClaude();
if (!cli.ok) console.warn(`preset-claude skipped: ${cli.reason}`);

const startFake = closedAfterEachTest(startFakeAnthropic);

const WRITE_HELLO = (worktree: string): Turn => ({ tool: "Write", input: { file_path: join(worktree, "hello.txt"), content: "hello from the fake model\n" } });
const builder = (env: string[]) => ({ builder: { preset: "claude-code", env } });

describe.skipIf(!cli.ok)("the claude-code preset, real Claude Code under cos", () => {
  test("takes a code task to review: the file committed on the task's branch, summary, handoff, cost and tokens, the MCP note on the task", async () => {
    const world = presetWorld(cli as CliFound, "claude", builder(["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"]), { ANTHROPIC_API_KEY: "sk-ant-api03-fake" });
    const worktree = world.worktree(1);
    const fake = await startFake({
      turns: [
        WRITE_HELLO(worktree),
        // 2.1.332 defers MCP tools: the model loads one with ToolSearch before calling it.
        { tool: "ToolSearch", input: { query: "select:mcp__cos__log_activity" } },
        { tool: "mcp__cos__log_activity", input: { text: "wrote hello.txt" } },
        { text: SUMMARY },
      ],
    });
    world.env.ANTHROPIC_BASE_URL = fake.url;

    await queueHello(world, "builder");
    const task = await serveToReview(world);
    expect(task.result).toMatchObject({
      ...HELLO_RESULT,
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


describe.skipIf(!cli.ok)("the claude-code preset at a usage limit, real Claude Code under cos tick --wait", () => {
  /** A world whose fake refuses every request while its clock (moved with COS_NOW) is before `untilMs`. */
  async function limited(gate: Turn, untilMs: number, env: Record<string, string>, listed: string[]) {
    const world = presetWorld(cli as CliFound, "claude", builder(["ANTHROPIC_BASE_URL", ...listed]), env);
    const clock = movingClock(world);
    const fake = await startFake({ turns: [WRITE_HELLO(world.worktree(1)), { text: SUMMARY }], gate: { turn: gate, activeWhile: clock.before(untilMs) } });
    world.env.ANTHROPIC_BASE_URL = fake.url;
    await queueHello(world, "builder", startOfTest());
    return { world, tick: clock.tick, fake };
  }

  test("a subscription's limit, 40 s ahead: re-queued for rate_limit_event's exact resetsAt, one dispatch before the run that succeeds, no attempt spent", async () => {
    const t0 = startOfTest();
    const resetsAt = t0 + 40_000;
    const { world, tick, fake } = await limited({ usageLimit: { resetsAt: new Date(resetsAt) } }, resetsAt, { CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-fake" }, ["CLAUDE_CODE_OAUTH_TOKEN"]);

    expect(await tick(t0)).toEqual([1]);
    const waiting = await world.task(1);
    expect(waiting, activityText(waiting)).toMatchObject({ status: "queued", attempt: 1, notBefore: iso(resetsAt + 15_000), failure: { reason: "usage_limit" } });
    expect(waiting.failure!.detail).toMatch(/^usage limit: You've hit your 5-hour limit · resets \d{1,2}(:\d{2})?(am|pm) \(UTC\)$/);

    // Before the reset the resolver holds it: no dispatch, nothing sent to the API.
    expect(await tick(t0 + 30_000)).toEqual([]);
    expect((await world.cos(["why", "1"], iso(t0 + 30_000))).stdout).toMatch(/usage limit/);

    expect(await tick(resetsAt + 15_000)).toEqual([1]);
    const done = await world.task(1);
    expect(done.status, activityText(done)).toBe("review");
    expect(done.runs).toHaveLength(2);
    expect(done.result).toMatchObject({ attempt: 1, summary: "Wrote hello.txt with a greeting." });
    expect(branchFiles(world.repo, 1)).toEqual(["hello.txt"]);
    expect(fake.mainRequests()).toHaveLength(3);
    // One activity line for the re-queue; each try kept its own run folder and log.
    expect(done.activity.filter((a) => a.text.startsWith("usage limit"))).toHaveLength(1);
    expect(done.activity.filter((a) => a.text.startsWith("dispatched"))).toHaveLength(1);
    expect(readdirSync(join(world.dir, "data", "runs")).sort()).toEqual(["1-1", "1-1.2"]);
    expect(readFileSync(join(world.dir, "data", "runs", "1-1", "output.log"), "utf8")).toContain('"type":"rate_limit_event"');
    expect(readFileSync(join(world.dir, "data", "runs", "1-1.2", "output.log"), "utf8")).toContain('"subtype":"success"');
  }, 120_000);

  test("a limit that outlasts its reset: a reset at or before now is never used, the task backs off 2, then 4 minutes", async () => {
    const t0 = startOfTest();
    const resetsAt = t0 + 40_000;
    // The API keeps refusing for five minutes, naming the same (soon past) reset.
    const { world, tick } = await limited({ usageLimit: { resetsAt: new Date(resetsAt) } }, t0 + 300_000, { CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-fake" }, ["CLAUDE_CODE_OAUTH_TOKEN"]);

    const tries: string[] = [];
    let at = t0;
    for (let i = 0; i < 3; i++) {
      expect(await tick(at)).toEqual([1]);
      const task = await world.task(1);
      expect(task.status, activityText(task)).toBe("queued");
      tries.push(task.notBefore!);
      at = Date.parse(task.notBefore!);
    }
    expect(tries).toEqual([iso(resetsAt + 15_000), iso(resetsAt + 15_000 + 2 * 60_000), iso(resetsAt + 15_000 + 6 * 60_000)]);
    expect(await tick(at)).toEqual([1]);
    const done = await world.task(1);
    expect(done, activityText(done)).toMatchObject({ status: "review", attempt: 1, limitStreak: 0 });
    expect(done.activity.filter((a) => a.text.startsWith("usage limit"))).toHaveLength(3);
  }, 120_000);

  test("an API key's 429, given up on after CLAUDE_CODE_MAX_RETRIES: a limit, backed off a minute, no attempt spent", async () => {
    const t0 = startOfTest();
    const { world, tick } = await limited({ rateLimit: { retryAfterSeconds: 1 } }, t0 + 30_000, { ANTHROPIC_API_KEY: "sk-ant-api03-fake", CLAUDE_CODE_MAX_RETRIES: "0" }, [
      "ANTHROPIC_API_KEY",
      "CLAUDE_CODE_MAX_RETRIES",
    ]);

    await expectFirstTickBacksOffAMinute(world, tick, t0, /^usage limit: API Error: Request rejected \(429\)/);

    expect(await tick(t0 + 60_000)).toEqual([1]);
    expect(await world.task(1)).toMatchObject({ status: "review", attempt: 1, result: { attempt: 1 } });
  }, 120_000);
});

if (!cli.ok) test.skip(`Claude Code cannot run here: ${cli.reason}`, () => {});
