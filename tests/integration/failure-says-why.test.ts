import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runPass } from "../../resolver/pass.ts";
import { meaningfulTail } from "../../runner/agent/last-lines.ts";
import type { AppContext } from "../../src/app/context.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { blocksText } from "../fixtures/fake-slack.ts";
import { ROOT, runCli } from "../helpers.ts";
import { CHAT, runNow, startHarness } from "./telegram-kit.ts";
import { CHANNEL, startSlackHarness } from "./slack-kit.ts";

// Issue #14, item 2: a failure says why. The alert, `cos task show`, the digest and --json carry the
// agent's last meaningful lines (stderr first) and say where the whole log is.

const BOOM = join(ROOT, "tests/fixtures/agents/boom.js");
const CONFIG = { agents: { boomer: { command: ["node", BOOM] } }, resolver: { maxAttempts: 1 } };

async function failOnce(ctx: AppContext, dataDir: string): Promise<{ id: number; log: string }> {
  const id = await queueTask(ctx, { title: "Configure the agent", type: "research", agent: "boomer" }, "cli");
  await runPass(ctx);
  await runNow(ctx, dataDir, [id]);
  return { id, log: join(dataDir, "runs", `${id}-1`, "output.log") };
}

describe("a failed run says why", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("puts the agent's stderr line and the log's path in the Telegram alert, cos task show, --json and the digest", async () => {
    const h = await startHarness({ mode: "polling", config: CONFIG });
    cleanups.push(h.close);
    const { id, log } = await failOnce(h.ctx, join(h.ws.dir, "data"));
    await h.settle();
    const alert = h.fake.messagesIn(CHAT).find((m) => m.text.startsWith(`❌ #${id} Configure the agent failed`));
    expect(alert?.text).toBe(
      [
        `❌ #${id} Configure the agent failed`,
        "attempt 1: exit code 1; no attempts left",
        "its last lines (stderr first):",
        "│ BOOM: missing config file ./agent.toml",
        `the whole log: ${log} (on runner night-runner)`,
        `the task: /show ${id}`,
      ].join("\n"),
    );

    const env = { ...h.ws.env, COS_NOW: "2026-11-24T07:30:00.000Z" };
    const show = await runCli(["task", "show", String(id)], { env, cwd: h.ws.dir });
    expect(show.stdout).toContain(
      `last failure: attempt 1: exit code 1; no attempts left\n  its last lines (stderr first):\n  │ BOOM: missing config file ./agent.toml\n  the whole log: ${log} (on runner night-runner)`,
    );
    const json = JSON.parse((await runCli(["task", "show", String(id), "--json"], { env, cwd: h.ws.dir })).stdout) as {
      failure: { tail: string[]; log: string; runner: string };
    };
    expect(json.failure).toMatchObject({ tail: ["BOOM: missing config file ./agent.toml"], log, runner: "night-runner" });
    const digest = await runCli(["digest"], { env, cwd: h.ws.dir });
    expect(digest.stdout).toContain(`#${id} Configure the agent [boomer · research]: exit code 1 — "BOOM: missing config file ./agent.toml"`);
  });

  it("puts the same line in the Slack alert", async () => {
    const h = await startSlackHarness({ config: CONFIG });
    cleanups.push(h.close);
    const { id } = await failOnce(h.ctx, join(h.ws.dir, "data"));
    await h.settle();
    const alert = h.fake.messagesIn(CHANNEL).find((m) => m.text.startsWith(`❌ #${id} Configure the agent failed`));
    expect(blocksText(alert!.blocks)).toContain("│ BOOM: missing config file ./agent.toml");
    expect(blocksText(alert!.blocks)).toContain(`the task: /cos show ${id}`);
  });

  it("keeps to the meaningful lines: stack frames, banners and blank lines out; an error line just before the end in", () => {
    const node = [
      "node:internal/modules/cjs/loader:1228",
      "  throw err;",
      "  ^",
      "",
      "Error: Cannot find module '/work/agents/a.js'",
      "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)",
      "    at Module._load (node:internal/modules/cjs/loader:1051:27)",
      "  code: 'MODULE_NOT_FOUND',",
      "  requireStack: []",
      "}",
      "",
      "Node.js v20.11.0",
    ].join("\n");
    expect(meaningfulTail(node)).toEqual(["Error: Cannot find module '/work/agents/a.js'", "  code: 'MODULE_NOT_FOUND',", "  requireStack: []"]);
    expect(meaningfulTail("\u001b[31mfatal: not a git repository\u001b[0m\n")).toEqual(["fatal: not a git repository"]);
  });
});
