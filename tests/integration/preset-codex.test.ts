import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { startFakeOpenAI } from "../fixtures/fake-vendors/openai-responses.ts";
import type { Turn } from "../fixtures/fake-vendors/scenario.ts";
import { closedAfterEachTest } from "./cli-real-backends.ts";
import { findCodex, SUMMARY, type CliFound } from "./cli-real-kit.ts";
import { expectFirstTickBacksOffAMinute } from "./preset-limit-kit.ts";
import { activityText, branchFiles, HELLO_RESULT, iso, movingClock, presetWorld, queueHello, serveToReview, startOfTest } from "./preset-kit.ts";

// The codex preset as shipped, with the real Codex CLI (the pinned @openai/codex) under a real `cos serve` /
// `cos tick --wait`, configured as the README says, against a local OpenAI Responses API named by
// OPENAI_BASE_URL in the agent's env.

const cli = findCodex();
if (!cli.ok) console.warn(`preset-codex skipped: ${cli.reason}`);

const startFake = closedAfterEachTest(startFakeOpenAI);

/** Codex 0.171.0 "code mode": tools are called from JavaScript given to the custom tool `exec`. */
const execJs = (source: string): Turn => ({ tool: "exec", input: source });
const addFile = (path: string, content: string) => `*** Begin Patch\n*** Add File: ${path}\n${content.split("\n").map((l) => `+${l}`).join("\n")}\n*** End Patch\n`;
const WRITE_HELLO = execJs(`const r = await tools.apply_patch(${JSON.stringify(addFile("hello.txt", "hello from the fake model"))});\ntext(r);`);
const LOG = execJs('const r = await tools.mcp__cos__log_activity({ text: "wrote hello.txt" });\ntext(r);');
const AGENTS = { coder: { preset: "codex", env: ["CODEX_API_KEY", "OPENAI_BASE_URL"] } };

describe.skipIf(!cli.ok)("the codex preset, real Codex CLI under cos", () => {
  test("takes a code task to review: the file committed on the task's branch, summary, handoff and tokens, the MCP note on the task", async () => {
    const world = presetWorld(cli as CliFound, "codex", AGENTS, { CODEX_API_KEY: "sk-codex-fake" });
    const fake = await startFake({ turns: [WRITE_HELLO, LOG, { text: SUMMARY }] });
    world.env.OPENAI_BASE_URL = `${fake.url}/v1`;

    await queueHello(world, "coder");
    const task = await serveToReview(world);
    expect(task.result).toMatchObject({
      ...HELLO_RESULT,
      usage: { costUsd: null, inputTokens: 3000, outputTokens: 150 },
      cli: { name: "Codex CLI", version: "0.171.0", warning: null },
    });
    expect(task.activity.map((a) => a.text)).toContain("coder: wrote hello.txt");
    expect(branchFiles(world.repo, 1)).toEqual(["hello.txt"]);
    expect(readFileSync(join(world.worktree(1), "hello.txt"), "utf8")).toBe("hello from the fake model\n");
    // The MCP server came in as -c overrides for this run: nothing in the user's config.toml, no file in the run folder.
    expect(existsSync(join(world.home, ".codex", "config.toml"))).toBe(false);
    expect(readdirSync(join(world.dir, "data", "runs", "1-1")).sort()).toEqual(["output.log", "prompt.md"]);
    expect(fake.mainRequests()[0]!.headers.authorization).toBe("Bearer sk-codex-fake");
  }, 120_000);
});


describe.skipIf(!cli.ok)("the codex preset at a usage limit, real Codex CLI under cos tick --wait", () => {
  /** A world whose fake refuses every request while its clock (moved with COS_NOW) is before `untilMs`. */
  async function limited(gate: Turn, untilMs: number) {
    const world = presetWorld(cli as CliFound, "codex", AGENTS, { CODEX_API_KEY: "sk-codex-fake" });
    const clock = movingClock(world);
    const fake = await startFake({ turns: [WRITE_HELLO, { text: SUMMARY }], gate: { turn: gate, activeWhile: clock.before(untilMs) } });
    world.env.OPENAI_BASE_URL = `${fake.url}/v1`;
    await queueHello(world, "coder", startOfTest());
    return { world, tick: clock.tick };
  }

  test("a limit 40 s ahead, printed to the minute ('try again at 4:12 AM'): re-queued for the end of that minute, at most 2 dispatches before the run that succeeds, no attempt spent", async () => {
    const t0 = startOfTest();
    const resetsAt = t0 + 40_000;
    const { world, tick } = await limited({ usageLimit: { resetsAt: new Date(resetsAt) } }, resetsAt);

    expect(await tick(t0)).toEqual([1]);
    const waiting = await world.task(1);
    const minute = Math.floor(resetsAt / 60_000) * 60_000;
    expect(waiting, activityText(waiting)).toMatchObject({ status: "queued", attempt: 1, notBefore: iso(minute + 60_000 + 15_000) });
    expect(waiting.failure!.detail).toMatch(/^usage limit: You’ve hit your usage limit\. .* try again at \d{1,2}:\d{2} (AM|PM)\.$/);

    let at = t0 + 30_000;
    while (at < Date.parse(waiting.notBefore!)) {
      expect(await tick(at)).toEqual([]);
      at += 30_000;
    }
    expect(await tick(Date.parse(waiting.notBefore!))).toEqual([1]);
    const done = await world.task(1);
    expect(done, activityText(done)).toMatchObject({ status: "review", attempt: 1, result: HELLO_RESULT });
    // One dispatch met the limit, the next one ran: within the "at most 2 before the run that succeeds".
    expect(done.runs).toHaveLength(2);
    expect(done.activity.filter((a) => a.text.startsWith("usage limit"))).toHaveLength(1);
    expect(branchFiles(world.repo, 1)).toEqual(["hello.txt"]);
  }, 120_000);

  test("an API 429 it gave up on ('exceeded retry limit, last status: 429'): a limit, backed off a minute, no attempt spent", async () => {
    const t0 = startOfTest();
    const { world, tick } = await limited({ rateLimit: { retryAfterSeconds: 1 } }, t0 + 30_000);
    await expectFirstTickBacksOffAMinute(world, tick, t0, "usage limit: exceeded retry limit, last status: 429 Too Many Requests");
    expect(await tick(t0 + 60_000)).toEqual([1]);
    expect(await world.task(1)).toMatchObject({ status: "review", attempt: 1 });
  }, 120_000);
});

if (!cli.ok) test.skip(`Codex CLI cannot run here: ${cli.reason}`, () => {});
