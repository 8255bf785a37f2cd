import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { startFakeGemini, type FakeGemini } from "../fixtures/fake-vendors/gemini.ts";
import type { Turn } from "../fixtures/fake-vendors/scenario.ts";
import { backendsPerTest, scratchEnv, type CliSetup, type Turns } from "./cli-real-backends.ts";
import { PROMPT, SUMMARY, explain, findBwrap, findGemini, inSandbox, jsonLines, lastEvent, lastJsonObject, listTree, runCli, saveSample, scratch, type Scratch } from "./cli-real-kit.ts";

// The real Gemini CLI (the pinned @google/gemini-cli) run headless against a local Gemini API, with no cos
// involved: what argv, environment and MCP wiring make it work, and what it prints. Findings and samples:
// docs/agent-clis.md.

const cli = findGemini();
const VERSION = "0.61.0";
if (!cli.ok) console.warn(`cli-real-gemini skipped: ${cli.reason}`);

const startBackends = backendsPerTest(startFakeGemini);

interface Setup extends CliSetup<FakeGemini> {
  /** The per-run Gemini home (GEMINI_CLI_HOME), in the run folder. */
  geminiHome: string;
}

interface Options {
  /** Merged into the per-run settings.json. */
  settings?: Record<string, unknown>;
  /** Leave the cos server out of the per-run settings. */
  noMcp?: boolean;
  format?: "json" | "stream-json";
}

/**
 * The per-run wiring that loads for a non-root user and touches neither the user's ~/.gemini nor the worktree:
 * GEMINI_CLI_HOME names a folder in the run folder whose .gemini/settings.json holds the cos server. The workspace
 * is trusted for the session with --skip-trust. `security.auth.selectedType` is needed only because
 * GOOGLE_GEMINI_BASE_URL (the fake) would otherwise select the "gateway" auth type, which headless mode refuses.
 */
async function setup(turns: Turns, options: Options = {}): Promise<Setup> {
  const s = scratch("gemini");
  const { fake, mcp } = await startBackends(s, turns);
  const geminiHome = join(s.run, "gemini-home");
  mkdirSync(join(geminiHome, ".gemini"), { recursive: true });
  const settings = {
    security: { auth: { selectedType: "gemini-api-key" } },
    ...(options.noMcp ? {} : { mcpServers: { cos: { httpUrl: mcp.url, headers: { Authorization: `Bearer ${mcp.token}` }, trust: true } } }),
    ...options.settings,
  };
  writeFileSync(join(geminiHome, ".gemini", "settings.json"), JSON.stringify(settings, null, 2), { mode: 0o600 });
  const argv = ["--output-format", options.format ?? "json", "--approval-mode", "auto_edit", "--skip-trust"];
  const env = scratchEnv(s, {
    GEMINI_API_KEY: "fake-gemini-key",
    GOOGLE_GEMINI_BASE_URL: fake.url,
    GEMINI_CLI_HOME: geminiHome,
  });
  return { s, fake, mcp, env, argv, geminiHome };
}

const run = (x: Setup, extra: string[] = [], timeoutMs = 45_000, command = (cli as { command: string[] }).command) =>
  runCli(command, [...x.argv, ...extra], { cwd: x.s.work, env: x.env, stdin: PROMPT, timeoutMs });
const bwrap = findBwrap();

const WRITE_HELLO = (work: string): Turn => ({ tool: "write_file", input: { file_path: join(work, "hello.txt"), content: "hello from the fake model\n" } });
/** Gemini CLI's own retries, cut to two tries so the failure paths take seconds, not minutes. */
const TWO_TRIES = { general: { maxAttempts: 2 } };

describe.skipIf(!cli.ok)(`Gemini CLI ${VERSION}, real CLI against a fake Gemini API`, () => {
  test("--version names the pinned version", async () => {
    const s = scratch("gemini-version");
    const ran = await runCli((cli as { command: string[] }).command, ["--version"], {
      cwd: s.work,
      env: { PATH: process.env.PATH ?? "", HOME: s.home, GEMINI_CLI_HOME: s.run },
      stdin: "",
      timeoutMs: 30_000,
    });
    expect(ran.stdout.trim(), explain(ran)).toBe(VERSION);
    expect((cli as { packageVersion: string }).packageVersion).toBe(VERSION);
  });

  test("writes the file, calls cos's log_activity over MCP, and reports Markdown and tokens (json)", async () => {
    const x = await setup((s) => [WRITE_HELLO(s.work), { tool: "mcp_cos_log_activity", input: { text: "wrote hello.txt" } }, { text: SUMMARY }]);
    const ran = await run(x);
    saveSample(`gemini-${VERSION}-result.json`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(0);
    expect(readFileSync(join(x.s.work, "hello.txt"), "utf8")).toBe("hello from the fake model\n");

    const out = JSON.parse(ran.stdout) as { response: string; stats: { models: Record<string, { roles: Record<string, { tokens: Record<string, number> }> }>; tools: { byName: Record<string, { success: number }> } } };
    expect(out.response).toBe(SUMMARY);
    const main = Object.values(out.stats.models).flatMap((m) => (m.roles.main ? [m.roles.main.tokens] : []));
    // Three main-loop calls of 1000 prompt and 50 candidate tokens; side calls (the router) are counted apart.
    expect(main).toEqual([expect.objectContaining({ prompt: 3000, candidates: 150, thoughts: 0 })]);
    expect(out.stats.tools.byName.mcp_cos_log_activity).toMatchObject({ success: 1 });
    expect(out.stats.tools.byName.write_file).toMatchObject({ success: 1 });

    expect(x.mcp.calls).toEqual([{ tool: "log_activity", args: { text: "wrote hello.txt" }, authorization: `Bearer ${x.mcp.token}` }]);
    const requests = x.fake.mainRequests();
    expect(requests.map((r) => r.turn)).toEqual([0, 1, 2]);
    // The model is offered the server's tools as functions named mcp_<server>_<tool>.
    expect(requests[0]!.tools).toEqual(expect.arrayContaining(["write_file", "mcp_cos_log_activity", "mcp_cos_create_task", "mcp_cos_search_memory"]));
    expect(requests[0]!.headers["x-goog-api-key"]).toBe("fake-gemini-key");
    expect(requests[0]!.url).toMatch(/^\/v1beta\/models\/[^:]+:streamGenerateContent\?alt=sse$/);

    // Nothing in the worktree but the agent's file, nothing in HOME: state went to the per-run GEMINI_CLI_HOME.
    expect(x.s.status()).toBe("?? hello.txt\n");
    expect(listTree(x.s.home)).toEqual([]);
    expect(listTree(join(x.geminiHome, ".gemini"), 1)).toEqual(expect.arrayContaining(["history/", "projects.json", "settings.json", "tmp/"]));
  });

  test("stream-json: init, messages, tool events and a result event with token stats", async () => {
    const x = await setup((s) => [WRITE_HELLO(s.work), { text: SUMMARY }], { format: "stream-json", noMcp: true });
    const ran = await run(x);
    saveSample(`gemini-${VERSION}-stream.jsonl`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(0);
    const events = jsonLines(ran.stdout);
    expect(events[0]).toMatchObject({ type: "init" });
    expect(lastEvent(events, "result")).toMatchObject({ status: "success" });
    expect(JSON.stringify(lastEvent(events, "result").stats)).toMatch(/"input_tokens":\d+/);
    const text = events.filter((e) => e.type === "message" && e.role === "assistant").map((e) => e.content).join("");
    expect(text).toBe(SUMMARY);
  });

  test("an untrusted work folder (no --skip-trust, no GEMINI_CLI_TRUST_WORKSPACE): exit 55 before any request", async () => {
    const x = await setup([{ text: "hi" }], { noMcp: true });
    x.argv = x.argv.filter((a) => a !== "--skip-trust");
    const ran = await run(x);
    expect(ran.code, explain(ran)).toBe(55);
    expect(ran.stderr).toContain("Gemini CLI is not running in a trusted directory. To proceed, either use `--skip-trust`, set the `GEMINI_CLI_TRUST_WORKSPACE=true` environment variable");
    expect(x.fake.mainRequests()).toHaveLength(0);
  });

  test("a base URL without a selected auth type picks 'gateway', which headless mode refuses: exit 41", async () => {
    const x = await setup([{ text: "hi" }], { noMcp: true, settings: { security: {} } });
    const ran = await run(x);
    expect(ran.code, explain(ran)).toBe(41);
    expect(lastJsonObject(ran.stderr)).toMatchObject({ error: { message: "Invalid auth method selected.", code: 41 } });
    expect(x.fake.requests).toHaveLength(0);
  });

  test("today's wiring, GEMINI_CLI_SYSTEM_SETTINGS_PATH in a folder a user can write: skipped with a security warning, no MCP tools", async () => {
    const x = await setup([{ text: "hi" }], { noMcp: true });
    const system = join(x.s.run, "gemini-settings.json");
    writeFileSync(system, JSON.stringify({ mcpServers: { cos: { httpUrl: x.mcp.url, headers: { Authorization: `Bearer ${x.mcp.token}` }, trust: true } } }), { mode: 0o600 });
    x.env.GEMINI_CLI_SYSTEM_SETTINGS_PATH = system;
    const ran = await run(x);
    expect(ran.code, explain(ran)).toBe(0);
    expect(ran.stderr).toContain(`Security Warning: Skipping system settings file '${system}'`);
    expect(x.fake.mainRequests()[0]!.tools!.some((t) => t.startsWith("mcp_cos_"))).toBe(false);
    expect(x.mcp.methods).toEqual([]);
  });

  test("usage limit (a per-day quota): no retry, exit 173, the error JSON on stderr names no reset", async () => {
    const x = await setup([{ usageLimit: { resetsAt: new Date(Date.now() + 40_000) } }], { noMcp: true });
    const ran = await run(x);
    saveSample(`gemini-${VERSION}-usage-limit.stderr.txt`, ran.stderr);
    expect(ran.code, explain(ran)).toBe(173);
    expect(ran.stdout).toBe("");
    expect(lastJsonObject(ran.stderr)).toMatchObject({ error: { type: "Error", message: "You have exhausted your daily quota on this model.", code: 429 } });
    expect(ran.stderr).toContain("TerminalQuotaError: You have exhausted your daily quota on this model.");
    expect(x.fake.mainRequests()).toHaveLength(1);
  });

  test("rate limit (a per-minute quota): retried, then the API's message with 'Please retry in 1s.', exit 173", async () => {
    const x = await setup([{ rateLimit: { retryAfterSeconds: 1 } }], { noMcp: true, settings: TWO_TRIES });
    const ran = await run(x);
    saveSample(`gemini-${VERSION}-rate-limit.stderr.txt`, ran.stderr);
    expect(ran.code, explain(ran)).toBe(173);
    expect(ran.stderr).toContain("Attempt 1 failed: You exceeded your current quota");
    expect(ran.stderr).toContain("Max attempts reached");
    const error = lastJsonObject(ran.stderr)?.error as { message: string; code: number };
    expect(error.code).toBe(429);
    expect(error.message).toMatch(/^You exceeded your current quota, please check your plan and billing details\./);
    expect(error.message).toContain("Please retry in 1s.\nSuggested retry after 1s.");
    expect(x.fake.mainRequests()).toHaveLength(2);
  });

  test("garbage from the API: 'Incomplete JSON segment at the end', exit 1", async () => {
    const x = await setup([{ garbage: "this is not an event stream\n<html>502</html>\n" }], { noMcp: true, settings: TWO_TRIES });
    const ran = await run(x);
    saveSample(`gemini-${VERSION}-garbage.stderr.txt`, ran.stderr);
    expect(ran.code, explain(ran)).toBe(1);
    expect(lastJsonObject(ran.stderr)).toMatchObject({ error: { message: "Incomplete JSON segment at the end", code: 1 } });
  });

  test("a hung API: no exit of its own; the process group ends at the deadline", async () => {
    const x = await setup([{ hang: true }], { noMcp: true });
    const ran = await run(x, [], 8_000);
    expect(ran.timedOut, explain(ran)).toBe(true);
    expect(ran.stdout).toBe("");
    expect(x.fake.mainRequests()).toHaveLength(1);
  });

  test.skipIf(!bwrap)("works inside a bubblewrap sandbox shaped like DESIGN §12 (GEMINI_CLI_HOME in the run folder)", async () => {
    const x = await setup((s) => [WRITE_HELLO(s.work), { tool: "mcp_cos_log_activity", input: { text: "from the sandbox" } }, { text: SUMMARY }]);
    const ran = await run(x, [], 45_000, inSandbox(bwrap!, (cli as { command: string[] }).command, [x.s.work, x.s.run, x.s.home, x.s.tmp]));
    expect(ran.code, explain(ran)).toBe(0);
    expect((JSON.parse(ran.stdout) as { response: string }).response).toBe(SUMMARY);
    expect(existsSync(join(x.s.work, "hello.txt"))).toBe(true);
    expect(x.mcp.calls.map((c) => c.args)).toEqual([{ text: "from the sandbox" }]);
  });

  test("a result file in the run folder: 'Path not in workspace', allowed with --include-directories", async () => {
    const resultFile = (s: Scratch) => join(s.run, "result.md");
    const turnsFor = (s: Scratch): Turn[] => [{ tool: "write_file", input: { file_path: resultFile(s), content: SUMMARY } }, { text: "done" }];

    const refused = await setup(turnsFor, { noMcp: true });
    const ran1 = await run(refused);
    expect(ran1.code, explain(ran1)).toBe(0);
    expect(existsSync(resultFile(refused.s))).toBe(false);
    expect(JSON.stringify(refused.fake.mainRequests()[1]!.body)).toContain(`Path not in workspace: Attempted path \\"${resultFile(refused.s)}\\" resolves outside the allowed workspace directories`);
    await refused.fake.close();
    await refused.mcp.close();

    const allowed = await setup(turnsFor, { noMcp: true });
    const ran2 = await run(allowed, ["--include-directories", allowed.s.run]);
    expect(ran2.code, explain(ran2)).toBe(0);
    expect(readFileSync(resultFile(allowed.s), "utf8")).toBe(SUMMARY);
  });
});

if (!cli.ok) test.skip(`Gemini CLI cannot run here: ${cli.reason}`, () => {});
