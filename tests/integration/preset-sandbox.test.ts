import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cleanupsAfterEach } from "../helpers.ts";
import { agentEnvironment, runAgent } from "../../runner/agent.ts";
import { runFiles } from "../../runner/agent/run-folder.ts";
import { wireRun, writeWiringFiles } from "../../runner/mcp-wiring.ts";
import { PRESETS, type PresetName } from "../../runner/presets.ts";
import { buildSandbox, probeBwrap, sandboxSpecForRun } from "../../runner/sandbox/index.ts";
import { prepareWorkspace } from "../../runner/workspace.ts";
import { startFakeAnthropic } from "../fixtures/fake-vendors/anthropic.ts";
import { startFakeGemini } from "../fixtures/fake-vendors/gemini.ts";
import { startMcpRecorder } from "../fixtures/fake-vendors/mcp-recorder.ts";
import { startFakeOpenAI } from "../fixtures/fake-vendors/openai-responses.ts";
import type { FakeServer, Turn } from "../fixtures/fake-vendors/scenario.ts";
import { findClaude, findCodex, findGemini, PROMPT, SUMMARY, type Cli } from "./cli-real-kit.ts";
import { git } from "./git-kit.ts";

// Each preset inside cos's own sandbox (runner/sandbox, DESIGN §12): the run's argv and wiring as the runner
// builds them, the sandbox spec as `sandboxSpecForRun` makes it from the runner's places (the data folder hidden,
// the worktree and run folder writable, the git dir's config and hooks read-only, the preset's state folders
// writable, /tmp private), the real CLI against its vendor's fake. The runner does not start agents in the sandbox
// yet (issue #12 wires it); when it does, the last test runs the same under `cos serve`.

const probe = await probeBwrap();
const cleanups = cleanupsAfterEach();

interface Case {
  preset: PresetName;
  bin: string;
  cli: Cli;
  env: string[];
  start(turns: Turn[]): Promise<FakeServer>;
  endpoint(fake: FakeServer): Record<string, string>;
  turns(worktree: string): Turn[];
  /** What the agent leaves in the worktree; hello.txt when not named. */
  files?: string[];
  tokens: { input: number; output: number };
}

const execJs = (source: string): Turn => ({ tool: "exec", input: source });
const CASES: Case[] = [
  {
    preset: "claude-code",
    bin: "claude",
    cli: findClaude(),
    env: ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"],
    start: (turns) => startFakeAnthropic({ turns }),
    endpoint: (fake) => ({ ANTHROPIC_API_KEY: "sk-ant-fake", ANTHROPIC_BASE_URL: fake.url }),
    turns: (worktree) => [
      { tool: "Write", input: { file_path: join(worktree, "hello.txt"), content: "hello from the sandbox\n" } },
      { tool: "ToolSearch", input: { query: "select:mcp__cos__log_activity" } },
      { tool: "mcp__cos__log_activity", input: { text: "from the sandbox" } },
      { text: SUMMARY },
    ],
    tokens: { input: 4000, output: 200 },
  },
  {
    preset: "codex",
    bin: "codex",
    cli: findCodex(),
    env: ["CODEX_API_KEY", "OPENAI_BASE_URL"],
    start: (turns) => startFakeOpenAI({ turns }),
    endpoint: (fake) => ({ CODEX_API_KEY: "sk-codex-fake", OPENAI_BASE_URL: `${fake.url}/v1` }),
    turns: () => [
      execJs('const r = await tools.apply_patch("*** Begin Patch\\n*** Add File: hello.txt\\n+hello from the sandbox\\n*** End Patch\\n");\ntext(r);'),
      execJs('const r = await tools.mcp__cos__log_activity({ text: "from the sandbox" });\ntext(r);'),
      // A shell command too: with cos's sandbox around it, Codex's own steps aside (it cannot nest).
      execJs('const r = await tools.exec_command({ cmd: "echo from-shell > shell.txt" });\ntext(r);'),
      { text: SUMMARY },
    ],
    files: ["hello.txt", "shell.txt"],
    tokens: { input: 4000, output: 200 },
  },
  {
    preset: "gemini",
    bin: "gemini",
    cli: findGemini(),
    env: ["GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"],
    start: (turns) => startFakeGemini({ turns }),
    endpoint: (fake) => ({ GEMINI_API_KEY: "fake-gemini-key", GOOGLE_GEMINI_BASE_URL: fake.url }),
    turns: (worktree) => [
      { tool: "write_file", input: { file_path: join(worktree, "hello.txt"), content: "hello from the sandbox\n" } },
      { tool: "mcp_cos_log_activity", input: { text: "from the sandbox" } },
      { text: SUMMARY },
    ],
    tokens: { input: 3000, output: 150 },
  },
];

describe.skipIf(!probe.works)("the presets inside cos's sandbox", () => {
  for (const c of CASES) {
    test.skipIf(!c.cli.ok)(`${c.preset}: writes in its worktree, calls cos's MCP server, reports, with only its state folders writable`, async () => {
      if (!c.cli.ok) throw new Error(c.cli.reason);
      const root = realpathSync(mkdtempSync("/var/tmp/cos-preset-sandbox-"));
      cleanups.push(() => rmSync(root, { recursive: true, force: true }));
      const [bin, home, repo, data] = ["bin", "home", "site", "data"].map((d) => join(root, d)) as [string, string, string, string];
      for (const d of [bin, home, repo, data]) mkdirSync(d, { recursive: true });
      symlinkSync(c.cli.command.at(-1)!, join(bin, c.bin));
      git(repo, "init", "-q", "-b", "main");
      writeFileSync(join(repo, "README.md"), "# site\n");
      git(repo, "add", ".");
      git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init");
      writeFileSync(join(data, "cos.db"), "the store: never visible to an agent");

      const workspace = await prepareWorkspace({ taskId: 1, isolation: "worktree", project: { name: "site", repo, mainBranch: "main" }, worktreeRoot: join(data, "worktrees"), scratchRoot: join(data, "scratch") });
      const fake = await c.start(c.turns(workspace.dir));
      cleanups.push(() => fake.close());
      const mcp = await startMcpRecorder();
      cleanups.push(() => mcp.close());

      const runDir = join(data, "runs", "1-1");
      const sourceEnv = { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: home, LANG: "C.UTF-8", TZ: "UTC", ...c.endpoint(fake) };
      const preset = PRESETS[c.preset];
      const allowed = Object.fromEntries(c.env.map((name) => [name, sourceEnv[name as keyof typeof sourceEnv]!]));
      const wiring = wireRun(preset, { argv: preset.command, runDir, endpoint: { url: mcp.url, token: mcp.token }, env: allowed, sandboxed: true });
      mkdirSync(runDir, { recursive: true });
      writeWiringFiles(wiring);
      const runSpec = { taskId: 1, attempt: 1, workdir: workspace.dir, envAllow: c.env, sourceEnv, extraEnv: wiring.env };
      const spec = await sandboxSpecForRun({
        workspace: "worktree",
        workdir: workspace.dir,
        runDir,
        dataDir: data,
        configFile: null,
        envFiles: [],
        dbUrl: `file:${join(data, "cos.db")}`,
        cwd: root,
        preset: c.preset,
        extraStatePaths: [],
        network: true,
        env: agentEnvironment(runSpec, runFiles(runDir)),
        command: wiring.argv,
        bwrap: probe.path!,
      });
      const result = await runAgent({ ...runSpec, argv: buildSandbox(spec).argv, prompt: PROMPT, runDir, timeoutMs: 60_000, maxCaptureBytes: preset.captureBytes });
      const log = readFileSync(result.logPath, "utf8");

      expect(result.exitCode, log.slice(-4000)).toBe(0);
      expect(existsSync(join(workspace.dir, "hello.txt")), log.slice(-6000)).toBe(true);
      expect(readFileSync(join(workspace.dir, "hello.txt"), "utf8")).toBe("hello from the sandbox\n");
      expect(mcp.calls).toEqual([{ tool: "log_activity", args: { text: "from the sandbox" }, authorization: `Bearer ${mcp.token}` }]);
      expect(preset.resultText(result.output)).toBe(SUMMARY);
      const usage = preset.usage(result.output, log);
      expect(usage?.inputTokens).toBeGreaterThanOrEqual(c.tokens.input);
      expect(usage?.outputTokens).toBeGreaterThanOrEqual(c.tokens.output);
      expect(preset.usageLimit(result.output, log, new Date())).toBeNull();
      // Nothing but the agent's file in the worktree.
      expect(git(workspace.dir, "status", "--porcelain", "--ignored")).toBe((c.files ?? ["hello.txt"]).map((f) => `?? ${f}`).join("\n"));
    }, 90_000);
  }

  // Under cos serve and cos tick --wait, with the default runner.sandbox (auto), the runner starts every agent
  // in this sandbox: tests/integration/preset-*.test.ts run the presets so wherever bubblewrap works.
});

if (!probe.works) test.skip(`the presets inside cos's sandbox: bubblewrap cannot sandbox here (${probe.error ?? "bwrap is not on PATH"})`, () => {});
