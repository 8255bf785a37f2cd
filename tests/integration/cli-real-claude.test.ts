import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fixtures/fake-vendors/anthropic.ts";
import type { Turn } from "../fixtures/fake-vendors/scenario.ts";
import { backendsPerTest, scratchEnv, type CliSetup, type Turns } from "./cli-real-backends.ts";
import { PROMPT, SUMMARY, explain, findBwrap, findClaude, inSandbox, jsonLines, lastEvent, listTree, runCli, saveSample, scratch, type Scratch } from "./cli-real-kit.ts";

// The real Claude Code (the pinned @anthropic-ai/claude-code) run headless against a local Anthropic Messages API,
// with no cos involved: what argv, environment and MCP wiring make it work, and what it prints. Findings and
// samples: docs/agent-clis.md.

const cli = findClaude();
const VERSION = "2.1.332";
if (!cli.ok) console.warn(`cli-real-claude skipped: ${cli.reason}`);

const startBackends = backendsPerTest(startFakeAnthropic);

type Setup = CliSetup<FakeAnthropic>;

/** The way cos wires Claude Code to its /mcp: a config file in the run folder, the bearer token in it, the server's tools allowed. */
async function setup(
  turns: Turns,
  options: { format?: "json" | "stream-json"; auth?: "api-key" | "oauth" } = {},
): Promise<Setup> {
  const s = scratch("claude");
  const { fake, mcp } = await startBackends(s, turns);
  const mcpConfig = join(s.run, "claude-mcp.json");
  writeFileSync(mcpConfig, JSON.stringify({ mcpServers: { cos: { type: "http", url: mcp.url, headers: { Authorization: `Bearer ${mcp.token}` } } } }), { mode: 0o600 });
  const format = options.format ?? "stream-json";
  const argv = [
    "-p",
    "--output-format",
    format,
    ...(format === "stream-json" ? ["--verbose"] : []),
    "--permission-mode",
    "acceptEdits",
    "--mcp-config",
    mcpConfig,
    "--allowedTools",
    "mcp__cos",
  ];
  const env = scratchEnv(s, {
    ANTHROPIC_BASE_URL: fake.url,
    // A subscription (claude.ai login) is what makes Claude Code read the unified rate-limit headers; the token
    // is otherwise used like a key (Authorization: Bearer).
    ...(options.auth === "oauth" ? { CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-fake" } : { ANTHROPIC_API_KEY: "sk-ant-api03-fake" }),
  });
  return { s, fake, mcp, env, argv };
}

const run = (x: Setup, extra: string[] = [], timeoutMs = 30_000, env: Record<string, string> = {}, command = (cli as { command: string[] }).command) =>
  runCli(command, [...x.argv, ...extra], { cwd: x.s.work, env: { ...x.env, ...env }, stdin: PROMPT, timeoutMs });
const bwrap = findBwrap();

const WRITE_HELLO = (work: string): Turn => ({ tool: "Write", input: { file_path: join(work, "hello.txt"), content: "hello from the fake model\n" } });

describe.skipIf(!cli.ok)(`Claude Code ${VERSION}, real binary against a fake Anthropic API`, () => {
  test("--version names the pinned version", async () => {
    const s = scratch("claude-version");
    const ran = await runCli((cli as { command: string[] }).command, ["--version"], { cwd: s.work, env: { PATH: process.env.PATH ?? "", HOME: s.home }, stdin: "", timeoutMs: 15_000 });
    expect(ran.stdout.trim(), explain(ran)).toBe(`${VERSION} (Claude Code)`);
    expect((cli as { packageVersion: string }).packageVersion).toBe(VERSION);
  });

  test("writes the file, calls cos's log_activity over MCP, and reports Markdown, cost and tokens (stream-json)", async () => {
    const x = await setup((s) => [
      WRITE_HELLO(s.work),
      // 2.1.332 defers MCP tools: the model is told their names and loads them with ToolSearch before calling one.
      { tool: "ToolSearch", input: { query: "select:mcp__cos__log_activity" } },
      { tool: "mcp__cos__log_activity", input: { text: "wrote hello.txt" } },
      { text: SUMMARY },
    ]);

    const ran = await run(x);
    saveSample(`claude-code-${VERSION}-stream.jsonl`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(0);
    expect(readFileSync(join(x.s.work, "hello.txt"), "utf8")).toBe("hello from the fake model\n");

    const events = jsonLines(ran.stdout);
    const init = events.find((e) => e.type === "system" && e.subtype === "init")!;
    expect(init.claude_code_version).toBe(VERSION);
    expect(init.apiKeySource).toBe("ANTHROPIC_API_KEY");
    expect(init.mcp_servers).toEqual([{ name: "cos", status: "connected", source: "dynamic" }]);
    expect(init.tools).toEqual(expect.arrayContaining(["mcp__cos__log_activity", "mcp__cos__create_task", "mcp__cos__search_memory"]));

    const result = lastEvent(events, "result");
    expect(result.is_error).toBe(false);
    expect(result.subtype).toBe("success");
    expect(result.result).toBe(SUMMARY);
    expect(result.total_cost_usd).toBeGreaterThan(0);
    // Four model turns of 1000 input and 50 output tokens each (the fake's default usage).
    expect(result.usage).toMatchObject({ input_tokens: 4000, output_tokens: 200, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(result.num_turns).toBe(4);

    expect(x.mcp.calls).toEqual([{ tool: "log_activity", args: { text: "wrote hello.txt" }, authorization: `Bearer ${x.mcp.token}` }]);
    expect(x.mcp.unauthorized).toBe(0);

    const main = x.fake.mainRequests();
    expect(main.map((r) => r.turn)).toEqual([0, 1, 2, 3]);
    // The model was told the MCP tools exist: their names are in the system prompt's deferred-tool list...
    expect(JSON.stringify(main[0]!.body)).toContain("mcp__cos__log_activity");
    expect(main[0]!.tools).not.toContain("mcp__cos__log_activity");
    // ...and after ToolSearch the tool is offered with its schema.
    expect(main[2]!.tools).toContain("mcp__cos__log_activity");
    expect(main[0]!.headers["x-api-key"]).toBe("sk-ant-api03-fake");
    expect(String(main[0]!.headers["user-agent"])).toContain(`claude-cli/${VERSION}`);

    // Nothing but the agent's own file in the worktree; Claude Code's state went to the scratch HOME and TMPDIR.
    expect(x.s.status()).toBe("?? hello.txt\n");
    expect(listTree(x.s.home, 1)).toEqual(expect.arrayContaining([".cache/", ".claude.json", ".claude/"]));
    expect(listTree(x.s.tmp, 1)).toEqual(expect.arrayContaining([`claude-${process.getuid?.() ?? 0}/`]));
  });

  test("--output-format json: one result object with the Markdown, cost and tokens", async () => {
    const x = await setup((s) => [WRITE_HELLO(s.work), { text: SUMMARY }], { format: "json" });
    const ran = await run(x);
    saveSample(`claude-code-${VERSION}-result.json`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(0);
    const result = JSON.parse(ran.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ type: "result", subtype: "success", is_error: false, result: SUMMARY, usage: { input_tokens: 2000, output_tokens: 100 } });
    expect(result.total_cost_usd).toBeGreaterThan(0);
    expect(existsSync(join(x.s.work, "hello.txt"))).toBe(true);
  });

  test("without --allowedTools mcp__cos the MCP call is refused in -p mode", async () => {
    const x = await setup([
      { tool: "ToolSearch", input: { query: "select:mcp__cos__log_activity" } },
      { tool: "mcp__cos__log_activity", input: { text: "hi" } },
      { text: "done" },
    ]);
    x.argv = x.argv.filter((a, i, all) => a !== "--allowedTools" && all[i - 1] !== "--allowedTools");
    const ran = await run(x);
    expect(ran.code, explain(ran)).toBe(0);
    const result = lastEvent(jsonLines(ran.stdout), "result");
    expect(result.permission_denials).toEqual([expect.objectContaining({ tool_name: "mcp__cos__log_activity" })]);
    expect(x.mcp.calls).toEqual([]);
  });

  test("subscription usage limit: rate_limit_event with the exact resetsAt, the minute-precision text, one dispatch", async () => {
    const resetsAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 40_000);
    const x = await setup([{ usageLimit: { resetsAt } }], { auth: "oauth" });
    const ran = await run(x);
    saveSample(`claude-code-${VERSION}-usage-limit-stream.jsonl`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(1);
    const events = jsonLines(ran.stdout);
    const limit = events.find((e) => e.type === "rate_limit_event")!;
    expect(limit, explain(ran)).toBeDefined();
    expect(limit.rate_limit_info).toMatchObject({ status: "rejected", rateLimitType: "five_hour", resetsAt: resetsAt.getTime() / 1000 });
    const result = lastEvent(events, "result");
    expect(result).toMatchObject({ is_error: true, api_error_status: 429, api_error: "usage_limit_reached", terminal_reason: "api_error" });
    // Printed to the minute in the CLI's zone (TZ=UTC here): "You've hit your 5-hour limit · resets 3:13am (UTC)".
    expect(result.result).toMatch(/^You've hit your 5-hour limit · resets \d{1,2}(:\d{2})?(am|pm) \(UTC\)$/);
    const hh = resetsAt.getUTCHours() % 12 || 12;
    const mm = resetsAt.getUTCMinutes();
    expect(result.result).toContain(`resets ${hh}${mm ? `:${String(mm).padStart(2, "0")}` : ""}${resetsAt.getUTCHours() < 12 ? "am" : "pm"} (UTC)`);
    expect(x.fake.mainRequests()).toHaveLength(1);
  });

  test("API-key 429 rate_limit_error: retried (api_retry events), then 'API Error: Request rejected (429)'", async () => {
    const x = await setup([{ rateLimit: { retryAfterSeconds: 1 } }]);
    // Ten retries with backoff by default (minutes); CLAUDE_CODE_MAX_RETRIES bounds them.
    const ran = await run(x, [], 30_000, { CLAUDE_CODE_MAX_RETRIES: "1" });
    saveSample(`claude-code-${VERSION}-rate-limit-stream.jsonl`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(1);
    const events = jsonLines(ran.stdout);
    expect(events.filter((e) => e.type === "system" && e.subtype === "api_retry")).toEqual([
      expect.objectContaining({ attempt: 1, max_retries: 1, error_status: 429, error: "rate_limit" }),
    ]);
    expect(events.some((e) => e.type === "rate_limit_event")).toBe(false);
    const result = lastEvent(events, "result");
    expect(result).toMatchObject({ is_error: true, api_error_status: 429, api_error_type: "rate_limit_error" });
    expect(result.result).toMatch(/^API Error: Request rejected \(429\) · This request would exceed the rate limit/);
    expect(x.fake.mainRequests()).toHaveLength(2);
  });

  test("garbage from the API: exit 1 with 'API returned an empty or malformed response'", async () => {
    const x = await setup([{ garbage: "this is not an event stream\n<html>502</html>\n" }], { format: "json" });
    const ran = await run(x, [], 30_000, { CLAUDE_CODE_MAX_RETRIES: "0" });
    saveSample(`claude-code-${VERSION}-garbage.json`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(1);
    const result = JSON.parse(ran.stdout) as Record<string, unknown>;
    expect(result.is_error).toBe(true);
    expect(result.result).toMatch(/^API Error: API returned an empty or malformed response \(HTTP 200\)/);
    // The streaming request, then its non-streaming retry.
    expect(x.fake.mainRequests().map((r) => (r.body as { stream?: boolean }).stream)).toEqual([true, false]);
  });

  test("a hung API: no exit of its own; the process group ends at the deadline", async () => {
    const x = await setup([{ hang: true }]);
    const ran = await run(x, [], 6_000);
    expect(ran.timedOut, explain(ran)).toBe(true);
    expect(ran.code === 143 || ran.signal === "SIGTERM" || ran.signal === "SIGKILL", explain(ran)).toBe(true);
    expect(jsonLines(ran.stdout).some((e) => e.type === "result")).toBe(false);
    expect(x.fake.mainRequests()).toHaveLength(1);
  });

  test.skipIf(!bwrap)("works inside a bubblewrap sandbox shaped like DESIGN §12 (HOME and TMPDIR as its state folders)", async () => {
    const x = await setup((s) => [
      WRITE_HELLO(s.work),
      { tool: "ToolSearch", input: { query: "select:mcp__cos__log_activity" } },
      { tool: "mcp__cos__log_activity", input: { text: "from the sandbox" } },
      { text: SUMMARY },
    ]);
    const ran = await run(x, [], 30_000, {}, inSandbox(bwrap!, (cli as { command: string[] }).command, [x.s.work, x.s.run, x.s.home, x.s.tmp]));
    expect(ran.code, explain(ran)).toBe(0);
    expect(lastEvent(jsonLines(ran.stdout), "result").result).toBe(SUMMARY);
    expect(existsSync(join(x.s.work, "hello.txt"))).toBe(true);
    expect(x.mcp.calls.map((c) => c.args)).toEqual([{ text: "from the sandbox" }]);
  });

  test("a result file in the run folder: refused under acceptEdits, allowed with --add-dir <run folder>", async () => {
    const resultFile = (s: Scratch) => join(s.run, "result.md");
    const turnsFor = (s: Scratch): Turn[] => [{ tool: "Write", input: { file_path: resultFile(s), content: SUMMARY } }, { text: "done" }];

    const refused = await setup(turnsFor, { format: "json" });
    const ran1 = await run(refused);
    expect(ran1.code, explain(ran1)).toBe(0);
    expect(existsSync(resultFile(refused.s))).toBe(false);
    expect((JSON.parse(ran1.stdout) as { permission_denials: unknown[] }).permission_denials).toEqual([expect.objectContaining({ tool_name: "Write" })]);
    const toolResult = JSON.stringify(refused.fake.mainRequests()[1]!.body);
    expect(toolResult).toContain("but you haven't granted it yet");
    await refused.fake.close();
    await refused.mcp.close();

    const allowed = await setup(turnsFor, { format: "json" });
    const ran2 = await run(allowed, ["--add-dir", allowed.s.run]);
    expect(ran2.code, explain(ran2)).toBe(0);
    expect(readFileSync(resultFile(allowed.s), "utf8")).toBe(SUMMARY);
  });
});

if (!cli.ok) test.skip(`Claude Code cannot run here: ${cli.reason}`, () => {});
