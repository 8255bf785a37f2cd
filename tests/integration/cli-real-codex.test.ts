import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../fixtures/fake-vendors/openai-responses.ts";
import type { Turn } from "../fixtures/fake-vendors/scenario.ts";
import { backendsPerTest, scratchEnv, type CliSetup, type Turns } from "./cli-real-backends.ts";
import { PROMPT, SUMMARY, explain, findBwrap, findCodex, inSandbox, jsonLines, lastEvent, listTree, runCli, saveSample, scratch, type Scratch } from "./cli-real-kit.ts";

// The real Codex CLI (the pinned @openai/codex) run headless against a local OpenAI Responses API, with no cos
// involved: what argv, environment and MCP wiring make it work, and what it prints. Findings and samples:
// docs/agent-clis.md.

const cli = findCodex();
const VERSION = "0.171.0";
if (!cli.ok) console.warn(`cli-real-codex skipped: ${cli.reason}`);

const startBackends = backendsPerTest(startFakeOpenAI);

type Setup = CliSetup<FakeOpenAI>;

/**
 * The headless argv (`--full-auto` is gone: `--sandbox workspace-write`, and `exec` never asks for approval) with
 * cos's MCP wiring as `-c` overrides: the URL, the token's variable name, and approval of the server's tools
 * (without it every MCP call is refused under `exec`). `openai_base_url` points the built-in provider at the fake.
 */
async function setup(turns: Turns, options: { approveMcp?: boolean; json?: boolean } = {}): Promise<Setup> {
  const s = scratch("codex");
  const { fake, mcp } = await startBackends(s, turns);
  const argv = [
    "exec",
    ...(options.json === false ? [] : ["--json"]),
    "--sandbox",
    "workspace-write",
    "-c",
    `openai_base_url=${JSON.stringify(`${fake.url}/v1`)}`,
    "-c",
    `mcp_servers.cos.url=${JSON.stringify(mcp.url)}`,
    "-c",
    'mcp_servers.cos.bearer_token_env_var="COS_MCP_TOKEN"',
    ...(options.approveMcp === false ? [] : ["-c", 'mcp_servers.cos.default_tools_approval_mode="approve"']),
  ];
  const env = scratchEnv(s, {
    CODEX_API_KEY: "sk-codex-fake",
    COS_MCP_TOKEN: mcp.token,
  });
  return { s, fake, mcp, env, argv };
}

const run = (x: Setup, extra: string[] = [], timeoutMs = 30_000, command = (cli as { command: string[] }).command) =>
  runCli(command, [...x.argv, ...extra, "-"], { cwd: x.s.work, env: x.env, stdin: PROMPT, timeoutMs });
const bwrap = findBwrap();

/** Codex 0.171.0 "code mode": tools are called from JavaScript given to the custom tool `exec`. */
const execJs = (source: string): Turn => ({ tool: "exec", input: source });
const addFile = (path: string, content: string) => `*** Begin Patch\n*** Add File: ${path}\n${content.split("\n").map((l) => `+${l}`).join("\n")}\n*** End Patch\n`;
const WRITE_HELLO = execJs(`const r = await tools.apply_patch(${JSON.stringify(addFile("hello.txt", "hello from the fake model"))});\ntext(r);`);
const LOG = execJs('const r = await tools.mcp__cos__log_activity({ text: "wrote hello.txt" });\ntext(r);');

describe.skipIf(!cli.ok)(`Codex CLI ${VERSION}, real binary against a fake OpenAI Responses API`, () => {
  test("--version names the pinned version", async () => {
    const s = scratch("codex-version");
    const ran = await runCli((cli as { command: string[] }).command, ["--version"], { cwd: s.work, env: { PATH: process.env.PATH ?? "", HOME: s.home }, stdin: "", timeoutMs: 15_000 });
    expect(ran.stdout.trim(), explain(ran)).toBe(`codex-cli ${VERSION}`);
    expect((cli as { packageVersion: string }).packageVersion).toBe(VERSION);
  });

  test("today's preset flag --full-auto is gone: exit 2 before any request", async () => {
    const s = scratch("codex-full-auto");
    const ran = await runCli((cli as { command: string[] }).command, ["exec", "--full-auto", "-"], { cwd: s.work, env: { PATH: process.env.PATH ?? "", HOME: s.home, TMPDIR: s.tmp }, stdin: PROMPT, timeoutMs: 15_000 });
    expect(ran.code, explain(ran)).toBe(2);
    expect(ran.stderr).toContain("error: unexpected argument '--full-auto' found");
  });

  test("writes the file, calls cos's log_activity over MCP, and reports Markdown and tokens (--json)", async () => {
    const x = await setup([WRITE_HELLO, LOG, { text: SUMMARY }]);
    const ran = await run(x);
    saveSample(`codex-${VERSION}-exec.jsonl`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(0);
    expect(readFileSync(join(x.s.work, "hello.txt"), "utf8")).toBe("hello from the fake model\n");

    const events = jsonLines(ran.stdout);
    const items = events.filter((e) => e.type === "item.completed").map((e) => e.item as Record<string, unknown>);
    expect(items.find((i) => i.type === "file_change")).toMatchObject({ status: "completed", changes: [{ path: join(x.s.work, "hello.txt"), kind: "add" }] });
    expect(items.find((i) => i.type === "mcp_tool_call")).toMatchObject({ server: "cos", tool: "log_activity", status: "completed", error: null });
    expect(items.filter((i) => i.type === "agent_message").at(-1)).toMatchObject({ text: SUMMARY });
    // One turn.completed for the whole exec: three model calls of 1000 input and 50 output tokens. No cost.
    expect(events.filter((e) => e.type === "turn.completed")).toEqual([
      { type: "turn.completed", usage: { input_tokens: 3000, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 150, reasoning_output_tokens: 0 } },
    ]);

    expect(x.mcp.calls).toEqual([{ tool: "log_activity", args: { text: "wrote hello.txt" }, authorization: `Bearer ${x.mcp.token}` }]);
    const main = x.fake.mainRequests();
    expect(main.map((r) => r.turn)).toEqual([0, 1, 2]);
    expect(main[0]!.headers.authorization).toBe("Bearer sk-codex-fake");
    expect(String(main[0]!.headers["user-agent"])).toContain(`codex_exec/${VERSION}`);
    // The model is told of the server as a deferred tool namespace, with the server's instructions.
    expect(JSON.stringify(main[0]!.body)).toContain("- mcp__cos: ChiefOfStaff tools for the task you are running");
    expect(main[0]!.tools).toEqual(expect.arrayContaining(["exec"]));

    expect(x.s.status()).toBe("?? hello.txt\n");
    expect(listTree(x.s.home, 1)).toEqual([".codex/"]);
    expect(listTree(join(x.s.home, ".codex"), 1)).toEqual(expect.arrayContaining(["sessions/", "state_5.sqlite", "installation_id"]));
  });

  test("plain output (no --json): the last message on stdout, progress and 'tokens used' on stderr", async () => {
    const x = await setup([WRITE_HELLO, { text: SUMMARY }], { json: false });
    const ran = await run(x);
    saveSample(`codex-${VERSION}-exec-plain.stdout.txt`, ran.stdout);
    saveSample(`codex-${VERSION}-exec-plain.stderr.txt`, ran.stderr);
    expect(ran.code, explain(ran)).toBe(0);
    expect(ran.stdout.trim()).toBe(SUMMARY);
    expect(ran.stderr).toMatch(/tokens used\s*\n?\s*2,100/);
  });

  test("without default_tools_approval_mode the MCP call is refused: 'requires approval, but approval policy is never'", async () => {
    const x = await setup([LOG, { text: "done" }], { approveMcp: false });
    const ran = await run(x);
    expect(ran.code, explain(ran)).toBe(0);
    const call = jsonLines(ran.stdout).find((e) => e.type === "item.completed" && (e.item as { type?: string }).type === "mcp_tool_call")?.item;
    expect(call).toMatchObject({ status: "failed", error: { message: "MCP tool call requires approval, but approval policy is never" } });
    expect(x.mcp.calls).toEqual([]);
  });

  test("usage limit: 'You’ve hit your usage limit … try again at 3:21 AM', exit 1, one dispatch", async () => {
    const resetsAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 40_000);
    const x = await setup([{ usageLimit: { resetsAt } }]);
    const ran = await run(x);
    saveSample(`codex-${VERSION}-usage-limit.jsonl`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(1);
    const failed = lastEvent(jsonLines(ran.stdout), "turn.failed");
    const message = (failed.error as { message: string }).message;
    expect(message).toMatch(/^You’ve hit your usage limit\. .* try again at \d{1,2}:\d{2} (AM|PM)\.$/);
    const h = resetsAt.getUTCHours();
    expect(message).toContain(`try again at ${h % 12 || 12}:${String(resetsAt.getUTCMinutes()).padStart(2, "0")} ${h < 12 ? "AM" : "PM"}.`);
    expect(x.fake.mainRequests()).toHaveLength(1);
    await x.fake.close();
    await x.mcp.close();

    // Without --json the same text goes to stderr, twice, after "ERROR: "; stdout stays empty.
    const plain = await setup([{ usageLimit: { resetsAt } }], { json: false });
    const ran2 = await run(plain);
    saveSample(`codex-${VERSION}-usage-limit-plain.stderr.txt`, ran2.stderr);
    expect(ran2.code, explain(ran2)).toBe(1);
    expect(ran2.stdout).toBe("");
    expect(ran2.stderr.split("\n").filter((l) => l === `ERROR: ${message}`)).toHaveLength(2);
  });

  test("API 429 rate_limit_exceeded: five reconnects, then 'exceeded retry limit, last status: 429 Too Many Requests'", async () => {
    const x = await setup([{ rateLimit: { retryAfterSeconds: 1 } }]);
    const ran = await run(x);
    saveSample(`codex-${VERSION}-rate-limit.jsonl`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(1);
    const events = jsonLines(ran.stdout);
    expect(events.filter((e) => e.type === "error" && String(e.message).startsWith("Reconnecting..."))).toHaveLength(5);
    expect(lastEvent(events, "turn.failed")).toEqual({ type: "turn.failed", error: { message: "exceeded retry limit, last status: 429 Too Many Requests" } });
    // The API's own message (which names the wait) is not printed.
    expect(ran.stdout).not.toContain("Please try again in");
    expect(x.fake.mainRequests()).toHaveLength(6);
  });

  test("garbage from the API: retried, then 'stream disconnected before completion', exit 1", async () => {
    const x = await setup([{ garbage: "this is not an event stream\n<html>502</html>\n" }]);
    const ran = await run(x);
    saveSample(`codex-${VERSION}-garbage.jsonl`, ran.stdout);
    expect(ran.code, explain(ran)).toBe(1);
    expect(lastEvent(jsonLines(ran.stdout), "turn.failed")).toEqual({
      type: "turn.failed",
      error: { message: "stream disconnected before completion: stream closed before response.completed" },
    });
  });

  test("a hung API: no exit of its own; the process group ends at the deadline", async () => {
    const x = await setup([{ hang: true }]);
    const ran = await run(x, [], 6_000);
    expect(ran.timedOut, explain(ran)).toBe(true);
    expect(jsonLines(ran.stdout).some((e) => e.type === "turn.completed" || e.type === "turn.failed")).toBe(false);
    expect(x.fake.mainRequests()).toHaveLength(1);
  });

  test("auth: OPENAI_API_KEY alone is not sent (no Authorization header); CODEX_API_KEY is", async () => {
    const x = await setup([{ text: "hi" }]);
    delete x.env.CODEX_API_KEY;
    x.env.OPENAI_API_KEY = "sk-openai-fake";
    const ran = await run(x);
    expect(ran.code, explain(ran)).toBe(1);
    expect(x.fake.requests.filter((r) => r.method === "POST").every((r) => r.headers.authorization === undefined)).toBe(true);
    expect(lastEvent(jsonLines(ran.stdout), "turn.failed").error).toMatchObject({ message: expect.stringMatching(/^unexpected status 401 Unauthorized: You didn't provide an API key/) });
  });

  test.skipIf(!bwrap)("works inside a bubblewrap sandbox shaped like DESIGN §12, its own sandbox nested (a shell command too)", async () => {
    const shell = execJs('const r = await tools.exec_command({ cmd: "echo from-shell > shell.txt" });\ntext(r);');
    const x = await setup([WRITE_HELLO, shell, LOG, { text: SUMMARY }]);
    const ran = await run(x, [], 30_000, inSandbox(bwrap!, (cli as { command: string[] }).command, [x.s.work, x.s.run, x.s.home, x.s.tmp]));
    expect(ran.code, explain(ran)).toBe(0);
    expect(readFileSync(join(x.s.work, "hello.txt"), "utf8")).toBe("hello from the fake model\n");
    expect(readFileSync(join(x.s.work, "shell.txt"), "utf8")).toBe("from-shell\n");
    expect(x.mcp.calls.map((c) => c.tool)).toEqual(["log_activity"]);
  });

  test("a result file in the run folder: refused by the sandbox, allowed with --add-dir; -o writes the last message", async () => {
    const resultFile = (s: Scratch) => join(s.run, "result.md");
    const turnsFor = (s: Scratch): Turn[] => [execJs(`const r = await tools.apply_patch(${JSON.stringify(addFile(resultFile(s), "## Summary\nfrom the agent"))});\ntext(r);`), { text: SUMMARY }];

    const refused = await setup(turnsFor);
    const ran1 = await run(refused);
    expect(ran1.code, explain(ran1)).toBe(0);
    expect(existsSync(resultFile(refused.s))).toBe(false);
    expect(JSON.stringify(refused.fake.mainRequests()[1]!.body)).toContain("patch rejected: writing outside of the project; rejected by user approval settings");
    await refused.fake.close();
    await refused.mcp.close();

    const allowed = await setup(turnsFor);
    const lastMessage = join(allowed.s.run, "last-message.md");
    const ran2 = await run(allowed, ["--add-dir", allowed.s.run, "-o", lastMessage]);
    expect(ran2.code, explain(ran2)).toBe(0);
    expect(readFileSync(resultFile(allowed.s), "utf8")).toBe("## Summary\nfrom the agent\n");
    expect(readFileSync(lastMessage, "utf8")).toBe(SUMMARY);
  });
});

if (!cli.ok) test.skip(`Codex CLI cannot run here: ${cli.reason}`, () => {});
