import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SECRET_ENV_NAMES } from "../../src/config/env.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { agentEnvironment, expandArgv, killProcessGroup, processGroupAlive, runAgent } from "../../runner/agent.ts";
import { readTail } from "../../runner/runner.ts";
import { agent, tempRun } from "../fixtures/agents/harness.ts";

// DESIGN §7 with real child processes: argv placeholders without a shell, the prompt on stdin and in a file,
// the allowlisted environment, the result from COS_RESULT_FILE or the tail of stdout, exit codes.

interface Report {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  promptFile: string | null;
}
const report = (output: string) => JSON.parse(output) as Report;

let run: ReturnType<typeof tempRun>;
beforeEach(() => {
  run = tempRun();
});
afterEach(() => run.cleanup());

describe("argv", () => {
  it("expands the placeholders in one pass, inside arguments too, and leaves unknown braces alone", () => {
    const values = { prompt: "say {taskId} and $& and $1", promptFile: "/runs/42-1/prompt.md", taskId: 42, workdir: "/wt/42" };
    expect(expandArgv(["agent", "--message={prompt}", "{promptFile}", "#{taskId}", "{workdir}", "{attempt}", "{}"], values)).toEqual([
      "agent",
      "--message=say {taskId} and $& and $1",
      "/runs/42-1/prompt.md",
      "#42",
      "/wt/42",
      "{attempt}",
      "{}",
    ]);
  });

  it("refuses an empty command", () => {
    const values = { prompt: "p", promptFile: "f", taskId: 1, workdir: "w" };
    expect(() => expandArgv([], values)).toThrow(ValidationError);
    expect(() => expandArgv([""], values)).toThrow(ValidationError);
  });

  it("hands the agent its placeholders literally, with no shell to run what a prompt contains", async () => {
    const canary = join(run.dir, "pwned");
    const prompt = `Fix it; echo pwned > ${canary} && $(touch ${canary}) \`touch ${canary}\` | cat $HOME {taskId}`;
    const result = await runAgent(run.spec({ argv: ["node", agent("report.js"), "--prompt={prompt}", "{promptFile}", "{taskId}", "{workdir}"], prompt }));
    expect(result.exitCode).toBe(0);
    expect(report(result.output).argv).toEqual([`--prompt=${prompt}`, result.promptFile, "42", run.workdir]);
    expect(existsSync(canary)).toBe(false);
  });
});

describe("the prompt", () => {
  it("arrives whole on stdin and in the prompt file, even when it is larger than a pipe holds", async () => {
    const prompt = `# Task 42 ✓\n${"Make the blog render MDX. ünïcödé 🚀\n".repeat(8000)}`;
    const result = await runAgent(run.spec({ prompt, maxCaptureBytes: 4 * 1024 * 1024 }));
    const seen = report(result.output);
    expect(seen.stdin).toBe(prompt);
    expect(seen.promptFile).toBe(prompt);
    expect(readFileSync(result.promptFile, "utf8")).toBe(prompt);
    expect(result.promptFile).toBe(join(run.runDir, "prompt.md"));
  });

  it("does not trouble an agent that never reads its stdin", async () => {
    const result = await runAgent(run.spec({ argv: [agent("ignores-stdin.sh")], prompt: "x".repeat(1024 * 1024) }));
    expect(result.exitCode).toBe(0);
    expect(result.output).toBe("did not read the prompt\n");
  });

  it("runs the agent in its workdir", async () => {
    const result = await runAgent(run.spec({}));
    expect(realpathSync(report(result.output).cwd)).toBe(realpathSync(run.workdir));
  });
});

describe("the environment", () => {
  const secrets = Object.fromEntries(SECRET_ENV_NAMES.map((name) => [name, `secret-value-of-${name}`]));

  it("holds only PATH, HOME, LANG, the allowed names, the extra variables and the COS_* protocol variables", async () => {
    const result = await runAgent(
      run.spec({
        argv: ["env"],
        sourceEnv: {
          ...secrets,
          PATH: process.env.PATH,
          HOME: "/home/agent",
          LANG: "C.UTF-8",
          OPENAI_API_KEY: "sk-allowed",
          NOT_ALLOWED: "not-for-agents",
          COS_DB_URL: "file:/data/cos.db",
        },
        envAllow: ["OPENAI_API_KEY", "UNSET_BUT_ALLOWED"],
        extraEnv: { COS_MCP_URL: "http://127.0.0.1:8787/mcp" },
        attempt: 2,
      }),
    );
    expect(result.exitCode).toBe(0);
    const env = Object.fromEntries(
      result.output
        .trim()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    expect(Object.keys(env).sort()).toEqual(
      ["PATH", "HOME", "LANG", "OPENAI_API_KEY", "COS_MCP_URL", "COS_TASK_ID", "COS_ATTEMPT", "COS_PROMPT_FILE", "COS_RESULT_FILE", "COS_WORKDIR"].sort(),
    );
    expect(env).toMatchObject({
      HOME: "/home/agent",
      OPENAI_API_KEY: "sk-allowed",
      COS_TASK_ID: "42",
      COS_ATTEMPT: "2",
      COS_PROMPT_FILE: result.promptFile,
      COS_RESULT_FILE: join(run.runDir, "result.md"),
      COS_WORKDIR: run.workdir,
    });
    for (const value of Object.values(secrets)) expect(readFileSync(result.logPath, "utf8")).not.toContain(value);
  });

  it("refuses an allowlist that names a secret, before anything runs", async () => {
    for (const name of [...SECRET_ENV_NAMES, "telegram_bot_token"]) {
      await expect(runAgent(run.spec({ envAllow: ["OPENAI_API_KEY", name], sourceEnv: secrets }))).rejects.toThrow(ValidationError);
    }
    await expect(runAgent(run.spec({ extraEnv: { COS_RUNNER_TOKEN: "t" } }))).rejects.toThrow(/never reaches an agent/);
    expect(existsSync(run.runDir)).toBe(false);
  });

  it("keeps the protocol variables out of reach of the allowlist and the extra variables", () => {
    const spec = run.spec({ envAllow: ["COS_TASK_ID"], sourceEnv: { COS_TASK_ID: "999" }, extraEnv: { COS_RESULT_FILE: "/etc/passwd" } });
    const env = agentEnvironment(spec, { promptFile: "/r/prompt.md", resultFile: "/r/result.md" });
    expect(env.COS_TASK_ID).toBe("42");
    expect(env.COS_RESULT_FILE).toBe("/r/result.md");
  });
});

describe("the result", () => {
  it("comes from COS_RESULT_FILE when the agent wrote it, whatever it printed", async () => {
    const written = "## Summary\nBuilt the MDX pipeline.\n\n## Handoff\nrenderPost(slug) returns HTML.\n";
    const result = await runAgent(run.spec({ envAllow: ["COS_TEST_RESULT"], sourceEnv: { ...run.spec({}).sourceEnv, COS_TEST_RESULT: written } }));
    expect(result).toMatchObject({ output: written, resultFromFile: true, exitCode: 0 });
    expect(readFileSync(result.logPath, "utf8")).toContain('"argv":[]');
  });

  it("comes from stdout when the result file is left blank", async () => {
    const result = await runAgent(run.spec({ envAllow: ["COS_TEST_RESULT"], sourceEnv: { ...run.spec({}).sourceEnv, COS_TEST_RESULT: " \n" } }));
    expect(result.resultFromFile).toBe(false);
    expect(report(result.output).argv).toEqual([]);
  });

  it("is not a result file an earlier run left in the same folder", async () => {
    await runAgent(run.spec({ envAllow: ["COS_TEST_RESULT"], sourceEnv: { ...run.spec({}).sourceEnv, COS_TEST_RESULT: "old result" } }));
    const again = await runAgent(run.spec({}));
    expect(again.resultFromFile).toBe(false);
    expect(again.output).not.toContain("old result");
  });

  it("keeps only the tail of a long stdout, cut at a character boundary, while the log keeps everything", async () => {
    const lines = 20_000;
    const result = await runAgent(run.spec({ argv: ["node", agent("lines.js"), String(lines)], maxCaptureBytes: 998 }));
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(998);
    expect(Buffer.byteLength(result.output)).toBeGreaterThan(990);
    expect(result.output).not.toContain("\uFFFD");
    expect(result.output.endsWith(`line ${String(lines).padStart(6, "0")} ✓\nEND\n`)).toBe(true);
    expect(result.output).not.toContain("starting on stderr");
    const log = readFileSync(result.logPath, "utf8");
    expect(log).toContain("starting on stderr");
    expect(log).toContain("line 000001 ✓\n");
    expect(statSync(result.logPath).size).toBe(lines * Buffer.byteLength("line 000001 ✓\n") + "END\n".length + "starting on stderr\n".length);
    // The runner reads a log's tail for usage limits: 40 bytes reach into line 19998 ("✓\n" of it).
    expect(readTail(result.logPath, 40)).toBe("✓\nline 019999 ✓\nline 020000 ✓\nEND\n");
    expect(readTail(result.logPath, 10 * 1024 * 1024)).toBe(log);
    expect(readTail(join(result.logPath, "..", "no-such.log"), 40)).toBe("");
  });
});

describe("exit codes", () => {
  it("reports the agent's exit code", async () => {
    const sourceEnv = { ...run.spec({}).sourceEnv, COS_TEST_EXIT: "3" };
    const failed = await runAgent(run.spec({ envAllow: ["COS_TEST_EXIT"], sourceEnv }));
    expect(failed).toMatchObject({ exitCode: 3, signal: null, timedOut: false });
    const ok = await runAgent(run.spec({}));
    expect(ok).toMatchObject({ exitCode: 0, signal: null, timedOut: false });
    expect(ok.durationMs).toBeGreaterThan(0);
  });

  it("turns a command that cannot start into a failed run that says why", async () => {
    const result = await runAgent(run.spec({ argv: ["cos-no-such-agent-cli", "{prompt}"] }));
    expect(result).toMatchObject({ exitCode: null, signal: null, pid: null, timedOut: false, resultFromFile: false });
    expect(result.output).toMatch(/could not be started: "cos-no-such-agent-cli" was not found/);
    expect(readFileSync(result.logPath, "utf8")).toContain(result.output);
  });

  it("refuses a workdir that does not exist", async () => {
    await expect(runAgent(run.spec({ workdir: join(run.dir, "missing") }))).rejects.toThrow(ValidationError);
  });
});

describe("process groups", () => {
  it("tells onSpawn the pid, which leads its own group, and finds the group gone afterwards", async () => {
    let spawned: { pid: number; alive: boolean } | null = null;
    const result = await runAgent(run.spec({}), { onSpawn: (pid) => (spawned = { pid, alive: processGroupAlive(pid) }) });
    expect(spawned).toEqual({ pid: result.pid, alive: true });
    expect(processGroupAlive(result.pid!)).toBe(false);
    expect(killProcessGroup(result.pid!, "SIGTERM")).toBe(false);
  });

  it("refuses ids that would signal everything or the runner itself", () => {
    for (const pid of [0, 1, -42, 1.5, Number.NaN, process.pid]) {
      expect(() => killProcessGroup(pid, "SIGKILL")).toThrow(ValidationError);
      expect(() => processGroupAlive(pid)).toThrow(ValidationError);
    }
  });

  it("stops the agent and reports the failure when onSpawn throws", async () => {
    const started = Date.now();
    await expect(
      runAgent(run.spec({ argv: ["node", agent("sleeps.js")] }), {
        onSpawn: () => {
          throw new Error("could not record the pid");
        },
      }),
    ).rejects.toThrow("could not record the pid");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

// A run folder may be reused by a send-back; the log is the new run's alone.
it("starts a fresh log for each run in the same folder", async () => {
  const first = await runAgent(run.spec({ argv: ["node", agent("lines.js"), "3"] }));
  const second = await runAgent(run.spec({ argv: ["node", agent("lines.js"), "1"] }));
  expect(second.logPath).toBe(first.logPath);
  expect(readFileSync(second.logPath, "utf8")).not.toContain("line 000003");
});
