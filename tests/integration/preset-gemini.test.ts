import { existsSync, readFileSync, statSync } from "node:fs";
import { waitFor } from "../wait.ts";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { startFakeGemini } from "../fixtures/fake-vendors/gemini.ts";
import type { Turn } from "../fixtures/fake-vendors/scenario.ts";
import { closedAfterEachTest } from "./cli-real-backends.ts";
import { findGemini, SUMMARY, type CliFound } from "./cli-real-kit.ts";
import { expectFirstTickBacksOffAMinute } from "./preset-limit-kit.ts";
import { activityText, branchFiles, HELLO_RESULT, movingClock, presetWorld, queueHello, serveToReview, startOfTest } from "./preset-kit.ts";

// The gemini preset as shipped, with the real Gemini CLI (the pinned @google/gemini-cli) under a real `cos serve` /
// `cos tick --wait`, configured as the README says, against a local Gemini API named by GOOGLE_GEMINI_BASE_URL
// in the agent's env.

const cli = findGemini();
if (!cli.ok) console.warn(`preset-gemini skipped: ${cli.reason}`);

const startFake = closedAfterEachTest(startFakeGemini);

const WRITE_HELLO = (worktree: string): Turn => ({ tool: "write_file", input: { file_path: join(worktree, "hello.txt"), content: "hello from the fake model\n" } });
const AGENTS = { scout: { preset: "gemini", env: ["GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"] } };

describe.skipIf(!cli.ok)("the gemini preset, real Gemini CLI under cos", () => {
  test("takes a code task to review in an untrusted worktree: the file committed, summary, handoff and tokens, the MCP note on the task", async () => {
    const world = presetWorld(cli as CliFound, "gemini", AGENTS, { GEMINI_API_KEY: "fake-gemini-key" });
    const fake = await startFake({ turns: [WRITE_HELLO(world.worktree(1)), { tool: "mcp_cos_log_activity", input: { text: "wrote hello.txt" } }, { text: SUMMARY }] });
    world.env.GOOGLE_GEMINI_BASE_URL = fake.url;

    await queueHello(world, "scout");
    const task = await serveToReview(world);
    expect(task.result).toMatchObject({
      ...HELLO_RESULT,
      cli: { name: "Gemini CLI", version: "0.61.0", warning: null },
    });
    // The agent's three turns and the router's side call, each as the fake counts them.
    expect(task.result!.usage).toMatchObject({ costUsd: null, inputTokens: expect.any(Number), outputTokens: expect.any(Number) });
    expect(task.result!.usage!.inputTokens).toBeGreaterThanOrEqual(3000);
    expect(task.activity.map((a) => a.text)).toContain("scout: wrote hello.txt");
    expect(branchFiles(world.repo, 1)).toEqual(["hello.txt"]);
    expect(readFileSync(join(world.worktree(1), "hello.txt"), "utf8")).toBe("hello from the fake model\n");
    // Its state and settings went to the run's own Gemini home: nothing in ~/.gemini, nothing in the worktree.
    expect(existsSync(join(world.home, ".gemini"))).toBe(false);
    const settings = JSON.parse(readFileSync(join(world.dir, "data", "runs", "1-1", "gemini-home", ".gemini", "settings.json"), "utf8")) as Record<string, unknown>;
    expect(settings).toMatchObject({ security: { auth: { selectedType: "gemini-api-key" } }, mcpServers: { cos: { httpUrl: expect.stringMatching(/\/mcp$/) } } });
    expect(fake.mainRequests()[0]!.headers["x-goog-api-key"]).toBe("fake-gemini-key");
  }, 120_000);
});


const root = process.getuid?.() === 0;
const setpriv = root && existsSync("/usr/bin/setpriv");
const NOBODY = 65534;

describe.skipIf(!cli.ok || !setpriv)("the gemini preset for a user who is not root", () => {
  // Gemini CLI skips a settings file a non-root user owns when it is named as system settings (issue #13): the
  // preset's per-run Gemini home must load for anyone. The tests run as root here, so this one runs cos, and so
  // Gemini, as nobody, in a world nobody owns.
  test("cos serve and the agent as nobody: the MCP note lands on the task, the task reaches review", async () => {
    const world = presetWorld(cli as CliFound, "gemini", AGENTS, { GEMINI_API_KEY: "fake-gemini-key" }, { runAs: NOBODY });
    const fake = await startFake({ turns: [WRITE_HELLO(world.worktree(1)), { tool: "mcp_cos_log_activity", input: { text: "wrote hello.txt as nobody" } }, { text: SUMMARY }] });
    world.env.GOOGLE_GEMINI_BASE_URL = fake.url;
    await queueHello(world, "scout");
    const server = await world.serve();
    const show = async () => JSON.parse((await world.cos(["task", "show", "1", "--json"])).stdout) as { status: string; activity: { text: string }[]; result: { summary: string } | null };
    const task = await waitFor(async () => {
      const t = await show();
      return t.status === "review" || t.status === "failed" ? t : null;
    }, "the task to reach review", 90_000, 500).catch((error: Error) => {
      throw new Error(`${error.message}\n${server.output()}`);
    });
    expect(task.status, `${task.activity.map((a) => a.text).join("\n")}\n${server.output()}`).toBe("review");
    expect(task.activity.map((a) => a.text)).toContain("scout: wrote hello.txt as nobody");
    expect(task.result?.summary).toBe("Wrote hello.txt with a greeting.");
    expect(statSync(join(world.dir, "data", "runs", "1-1", "gemini-home", ".gemini", "settings.json")).uid).toBe(NOBODY);
  }, 120_000);
});
if (!setpriv) test.skip(`the gemini preset as a user who is not root: ${root ? "setpriv is missing" : "the tests already run as a user who is not root"}`, () => {});

describe.skipIf(!cli.ok)("the gemini preset at a usage limit, real Gemini CLI under cos tick --wait", () => {
  test("a daily quota (exit 173, code 429, no reset named): a limit, backed off a minute, no attempt spent", async () => {
    const t0 = startOfTest();
    const world = presetWorld(cli as CliFound, "gemini", AGENTS, { GEMINI_API_KEY: "fake-gemini-key" });
    const { before, tick } = movingClock(world);
    const fake = await startFake({
      turns: [WRITE_HELLO(world.worktree(1)), { text: SUMMARY }],
      gate: { turn: { usageLimit: { resetsAt: new Date(t0 + 40_000) } }, activeWhile: before(t0 + 40_000) },
    });
    world.env.GOOGLE_GEMINI_BASE_URL = fake.url;
    await queueHello(world, "scout", t0);

    await expectFirstTickBacksOffAMinute(world, tick, t0, "usage limit: You have exhausted your daily quota on this model.");
    expect(await tick(t0 + 30_000)).toEqual([]);
    expect(await tick(t0 + 60_000)).toEqual([1]);
    const done = await world.task(1);
    expect(done, activityText(done)).toMatchObject({ status: "review", attempt: 1, result: HELLO_RESULT });
    expect(done.runs).toHaveLength(2);
  }, 120_000);
});

if (!cli.ok) test.skip(`Gemini CLI cannot run here: ${cli.reason}`, () => {});
