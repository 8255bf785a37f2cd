import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { COS_BIN, ROOT, runCli, tempWorkspace } from "../helpers.ts";

// Issue #14, items 10 and 11: the CLI behaves like the CLIs people know (help for a group and a command,
// --version, a suggestion for a typo, --json everywhere, no stack trace when the reader of its output
// leaves, `cos` alone is help), and long work shows progress on a terminal.

const run = promisify(execFile);
const shell = (command: string, env: Record<string, string> = {}) =>
  run("bash", ["-c", command], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, maxBuffer: 16 * 1024 * 1024 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
const cos = `"${process.execPath}" "${COS_BIN}"`;

describe("the cos CLI", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it("prints help and exits 0 when run alone, for a group (cos task --help, cos help task) and for one command", async () => {
    const alone = await runCli([]);
    expect(alone.code).toBe(0);
    expect(alone.stdout).toContain("cos task add");
    for (const args of [["task", "--help"], ["help", "task"], ["task", "-h"]]) {
      const help = await runCli(args);
      expect(help.code, args.join(" ")).toBe(0);
      expect(help.stdout).toMatch(/^cos task:\n {2}cos task add "<title>"/);
      expect(help.stdout).toContain("  cos task cancel ID");
      expect(help.stdout).not.toContain("cos goal add");
    }
    const one = await runCli(["task", "add", "--help"]);
    expect(one.code).toBe(0);
    expect(one.stdout.split("\n")[1]).toMatch(/^ {2}cos task add "<title>" --type T --agent A/);
    expect(one.stdout).not.toContain("cos task list");
  });

  it("says its version and exits 0", async () => {
    const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
    expect(await runCli(["--version"])).toMatchObject({ code: 0, stdout: `cos ${version}\n`, stderr: "" });
    expect(JSON.parse((await runCli(["--version", "--json"])).stdout)).toEqual({ version });
  });

  it("suggests the command meant by a typo", async () => {
    expect(await runCli(["tsk"])).toMatchObject({ code: 2, stderr: 'error: unknown command "tsk": did you mean "cos task"? run "cos help" for the list\n' });
    expect((await runCli(["task", "shwo", "1"])).stderr).toContain('did you mean "cos task show"?');
  });

  it("cos demo --json is one JSON document, and a reader that stops early (head) gets no stack trace", async () => {
    const json = await runCli(["demo", "--json"]);
    expect(json.code).toBe(0);
    const night = JSON.parse(json.stdout) as { tasks: { status: string }[]; digest: { day: string } };
    expect(night.tasks.map((t) => t.status)).toEqual(["approved", "approved", "approved", "approved"]);
    expect(night.digest.day).toBe("Tue 24 Nov 2026");
    const head = await shell(`set -o pipefail; ${cos} demo --json | head -c 100`);
    expect(head.stderr).toBe("");
    expect(head.stdout).toHaveLength(100);
    const lines = await shell(`set -o pipefail; ${cos} demo | head -n 2`);
    expect(lines).toMatchObject({ code: 0, stderr: "" });
  });

  it("cos tick --wait prints each task as it starts and ends", async () => {
    const ws = tempWorkspace({ agents: { builder: { command: ["sh", "-c", "echo '## Summary'; echo done"] }, failing: { command: ["sh", "-c", "echo 'BOOM: no key' >&2; exit 3"] } } });
    cleanups.push(ws.cleanup);
    await runCli(["task", "add", "Works", "--type", "research", "--agent", "builder"], { env: ws.env, cwd: ws.dir });
    await runCli(["task", "add", "Breaks", "--type", "content", "--agent", "failing"], { env: ws.env, cwd: ws.dir });
    const tick = await runCli(["tick", "--wait"], { env: ws.env, cwd: ws.dir });
    expect(tick.stdout).toMatch(/^#1 Works: started \(builder, attempt 1\)$/m);
    expect(tick.stdout).toMatch(/^#1 Works: finished: its result is in review \(after \d+ s\)$/m);
    expect(tick.stdout).toMatch(/^#2 Breaks: started \(failing, attempt 1\)$/m);
    expect(tick.stdout).toMatch(/^#2 Breaks: failed: exit code 3 \(after \d+ s\)\n {2}│ BOOM: no key$/m);
    // With --json the same lines go to stderr, and stdout stays one JSON document.
    await runCli(["task", "add", "Again", "--type", "research", "--agent", "builder"], { env: ws.env, cwd: ws.dir });
    const json = await runCli(["tick", "--wait", "--json"], { env: ws.env, cwd: ws.dir });
    expect((JSON.parse(json.stdout).results as { taskId: number }[]).map((r) => r.taskId)).toContain(3);
    expect(json.stderr).toMatch(/: started \(builder, attempt 1\)/);
  });

  it("shows progress on a terminal: cos demo's runs, and cos rebuild, backup and restore at work; none when not a terminal", async () => {
    const ws = tempWorkspace();
    cleanups.push(ws.cleanup);
    const env = { ...ws.env };
    await runCli(["task", "add", "Something", "--type", "research", "--agent", "builder"], { env, cwd: ws.dir });
    const onTerminal = await shell(`script -qec '${cos} rebuild' /dev/null`, env);
    expect(onTerminal.stdout).toContain("rebuilding the projections from the log…");
    expect(onTerminal.stdout).toContain("rebuilt the projections from");
    const piped = await runCli(["rebuild"], { env, cwd: ws.dir });
    expect(piped.stderr).toBe("");
    const night = join(ws.dir, "night.db");
    const backup = await shell(`script -qec '${cos} backup ${night}' /dev/null`, env);
    expect(backup.stdout).toContain(`backing the store up to ${night}…`);
    expect(backup.stdout).toContain("copied the store to");
    const pipedBackup = await runCli(["backup", join(ws.dir, "again.db")], { env, cwd: ws.dir });
    expect(pipedBackup.stderr).toBe("");
    const fresh = { ...env, COS_DB_URL: `file:${join(ws.dir, "fresh.db")}` };
    const restore = await shell(`script -qec '${cos} restore ${night}' /dev/null`, fresh);
    expect(restore.stdout).toContain(`restoring the store from ${night}…`);
    expect(restore.stdout).toMatch(/restored \d+ events from/);
    const demo = await shell(`script -qec '${cos} demo --json' /dev/null`);
    expect(demo.stdout).toMatch(/#\d+ Scaffold the site: started \(builder, attempt 1\)/);
  });
});
