import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cancelTask, loadTask, queueTask } from "../../src/app/tasks.ts";
import { showTask } from "../../src/app/views.ts";
import { renderTask } from "../../handlers/cli/render.ts";
import { explain } from "../../src/plan/explain.ts";
import { runPass } from "../../resolver/pass.ts";
import { runChecks } from "../../runner/checks.ts";
import { localPort } from "../../runner/port.ts";
import { Runner } from "../../runner/runner.ts";
import { processAlive } from "../fixtures/agents/harness.ts";
import { probeBwrap } from "../../runner/sandbox/index.ts";
import { tempAppsClosedAfterEach } from "../helpers.ts";
import { appsOutsideTmpClosedAfterEach } from "./checks-kit.ts";
import { ManualTimers } from "../timers.ts";
import { waitFor } from "../wait.ts";
import { gitAs, gitSandbox } from "./git-kit.ts";
import { checksConfig, FAILS, nodeCheck, PASSES, passAndRun, sandboxOf, siteRepo } from "./checks-kit.ts";

// Issue 16: a project's checks run after the agent's run and before review, in the task's work folder, inside
// the agent's sandbox; each check's whole output goes to the run folder, its outcome and last lines to the log.

const tempApp = tempAppsClosedAfterEach();
const appOutsideTmp = appsOutsideTmpClosedAfterEach();
const bwrap = (await probeBwrap()).works;
const HOUR = 3600_000;

describe("a project's checks", () => {
  it("record each check's outcome, exit code, duration and last lines with the result; the whole output is in the run folder", async () => {
    const { ctx, ws } = await tempApp(checksConfig([PASSES("test"), FAILS("lint")]));
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Add a page", type: "code", agent: "builder" }, "cli");
    const log: string[] = [];
    await passAndRun(ctx, ws.dir, log);
    const { state } = await loadTask(ctx, id);
    expect(state.status, log.join("\n")).toBe("review");
    expect(state.result!.checks).toMatchObject([
      { name: "test", outcome: "passed", exitCode: 0, tail: ["41 tests passed"] },
      { name: "lint", outcome: "failed", exitCode: 1, tail: ["src/a.ts:3 unused variable x", "1 problem"] },
    ]);
    expect(state.result!.checks![0]!.durationMs).toBeGreaterThan(0);
    const runDir = join(ws.dir, "data", "runs", `${id}-1`);
    expect(readFileSync(join(runDir, "checks", "lint.log"), "utf8")).toBe("src/a.ts:3 unused variable x\n1 problem\n");
    expect(readFileSync(join(runDir, "checks", "test.log"), "utf8")).toBe("41 tests passed\n");
    expect(log.some((l) => /checks: ✓ test \d+\.\d s · ✗ lint$/.test(l))).toBe(true);
  });

  it("a passing project reaches review with its checks passed; cos task show says so in text and JSON", async () => {
    const { ctx, ws } = await tempApp(checksConfig([PASSES("test")]));
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Add a page", type: "code", agent: "builder", tier: "auto" }, "cli");
    await passAndRun(ctx, ws.dir);
    const view = await showTask(ctx, id);
    expect(view).toMatchObject({ status: "review", result: { checks: [{ name: "test", outcome: "passed" }], flags: [] } });
    expect(view.autoApproval).toMatchObject({ keptForFailedChecks: false });
    expect(view.autoApproval!.at).not.toBeNull();
    expect(renderTask(view)).toMatch(/\nchecks: ✓ test \d+\.\d s\n/);
  });

  it("an auto task with a failed check is left in review past its timer, and cos why says why; with passing checks the timer approves it", async () => {
    const { ctx, ws, clock } = await tempApp(checksConfig([FAILS("lint")]));
    siteRepo(ws.dir);
    const failing = await queueTask(ctx, { title: "Failing", type: "code", agent: "builder", tier: "auto", area: "a" }, "cli");
    await passAndRun(ctx, ws.dir);
    expect((await loadTask(ctx, failing)).state.status).toBe("review");

    clock.advance(48 * HOUR);
    const pass = await runPass(ctx);
    expect(pass.autoApproved).toEqual([]);
    expect((await loadTask(ctx, failing)).state.status).toBe("review");
    expect((await explain(ctx, failing)).text).toBe(
      `#${failing}: in review (tier auto): its checks failed (lint), so it is not approved on its own; waiting for a person's verdict`,
    );
    const view = await showTask(ctx, failing);
    expect(view.autoApproval).toEqual({ at: null, keptForFailedChecks: true });
    expect(renderTask(view)).toContain("checks: ✗ lint\n  lint: exit code 1 after");
    expect(renderTask(view)).toContain("; its last lines:\n    src/a.ts:3 unused variable x\n    1 problem\nnot approved on its own: a check failed, so a person decides");
  });

  it("the control: the same auto task whose checks pass is approved (and merged) by the timer", async () => {
    const { ctx, ws, clock } = await tempApp(checksConfig([PASSES("test")]));
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Passing", type: "code", agent: "builder", tier: "auto" }, "cli");
    await passAndRun(ctx, ws.dir);
    clock.advance(19 * HOUR);
    expect((await runPass(ctx)).autoApproved.map((a) => a.taskId)).toEqual([id]);
    expect((await loadTask(ctx, id)).state.status).toBe("approved");
  });

  it("a run that changed nothing is not checked: there is nothing to check", async () => {
    const { ctx, ws } = await tempApp({
      ...checksConfig([FAILS("lint")]),
      agents: { builder: { command: [process.execPath, "-e", "console.log('## Summary\\nNothing to change.')"] } },
    });
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Look around", type: "code", agent: "builder" }, "cli");
    await passAndRun(ctx, ws.dir);
    const { state } = await loadTask(ctx, id);
    expect(state.status).toBe("review");
    expect(state.result!.checks).toEqual([]);
    expect(existsSync(join(ws.dir, "data", "runs", `${id}-1`, "checks"))).toBe(false);
  });

  it("a check that prints 50 MB: the log keeps all of it, the record keeps the last 30 lines", async () => {
    const flood = nodeCheck(
      "flood",
      "const b = Buffer.alloc(15 << 16, 'line of output\\n'); let n = 0; const go = () => { while (n < 54) { n++; if (!process.stdout.write(b)) return process.stdout.once('drain', go); } console.log('the last line'); }; go();",
    );
    const { ctx, ws } = await tempApp(checksConfig([flood]));
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Flood", type: "code", agent: "builder" }, "cli");
    await passAndRun(ctx, ws.dir);
    const logPath = join(ws.dir, "data", "runs", `${id}-1`, "checks", "flood.log");
    expect(statSync(logPath).size).toBe(54 * (15 << 16) + "the last line\n".length);
    expect(statSync(logPath).size).toBeGreaterThan(50 * 1024 * 1024);
    const { state } = await loadTask(ctx, id);
    const record = state.result!.checks![0]!;
    expect(record).toMatchObject({ name: "flood", outcome: "passed" });
    expect(record.tail).toHaveLength(30);
    expect(record.tail.at(-1)).toBe("the last line");
    const event = (await ctx.store.readStream(`task-${id}`)).find((e) => e.type === "TaskResultReported")!;
    expect(JSON.stringify(event.data).length).toBeLessThan(4000);
  });

  it("a check may write in the work folder, but nothing it writes or commits reaches review, and the next check sees the agent's work", async () => {
    const writes = nodeCheck(
      "format",
      "const fs = require('fs'); fs.writeFileSync('generated.txt', 'x'); fs.appendFileSync('work.txt', 'by the check\\n'); fs.rmSync('README.md'); " +
        "require('child_process').execFileSync('git', ['-c', 'user.name=c', '-c', 'user.email=c@c', 'commit', '-qam', 'sneaked in']);",
    );
    const sees = nodeCheck(
      "clean",
      "const fs = require('fs'); if (fs.existsSync('generated.txt') || !fs.existsSync('README.md') || fs.readFileSync('work.txt', 'utf8') !== 'attempt 1\\n') process.exit(1);",
    );
    const { ctx, ws } = await tempApp(checksConfig([writes, sees]));
    const repo = siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Format", type: "code", agent: "builder" }, "cli");
    await passAndRun(ctx, ws.dir);
    const { state } = await loadTask(ctx, id);
    expect(state.status).toBe("review");
    const [format, clean] = state.result!.checks!;
    expect(format).toMatchObject({ outcome: "passed" });
    expect(format!.note).toMatch(/it moved cos\/task-\d+ to [0-9a-f]{12} \(put back\)/);
    expect(format!.note).toContain("it changed 3 files in the work folder (put back, not reviewed): README.md, generated.txt, work.txt");
    expect(clean).toMatchObject({ outcome: "passed" });
    expect(gitAs(repo, "log", "--format=%s", `cos/task-${id}`)).toBe(`cos: task #${id} attempt 1: Format\ninitial`);
    expect(gitAs(join(ws.dir, "data", "worktrees", String(id)), "status", "--porcelain")).toBe("");
  });

  it("in a direct run, what a check writes is put back and the agent's uncommitted work is left exactly as it was", async () => {
    const writes = nodeCheck("format", "require('fs').writeFileSync('work.txt', 'rewritten by the check\\n'); require('fs').writeFileSync('extra.txt', 'x');");
    const { ctx, ws } = await tempApp(checksConfig([writes], { agent: { defaultIsolation: "direct" } }));
    const repo = siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Research", type: "research", agent: "builder", isolation: "direct" }, "cli");
    await passAndRun(ctx, ws.dir);
    const { state } = await loadTask(ctx, id);
    expect(state.result!.checks![0]!.note).toContain("it changed 2 files in the work folder (put back, not reviewed): extra.txt, work.txt");
    expect(readFileSync(join(repo, "work.txt"), "utf8")).toBe("attempt 1\n");
    expect(existsSync(join(repo, "extra.txt"))).toBe(false);
    expect(gitAs(repo, "status", "--porcelain")).toBe("?? work.txt");
  });

  it("in a direct run, what the agent staged stays staged, whatever a check does to the index", async () => {
    const box = gitSandbox("cos-check-index-", { "README.md": "site\n" });
    writeFileSync(join(box.repo, "staged.txt"), "staged by the agent\n");
    gitAs(box.repo, "add", "staged.txt");
    writeFileSync(join(box.repo, "loose.txt"), "left untracked\n");
    const before = gitAs(box.repo, "status", "--porcelain");
    const { records } = await runChecks({
      taskId: 8,
      attempt: 1,
      checks: [{ name: "unstage", command: ["git", "reset", "-q"], timeoutMinutes: 1 }, { name: "stage", command: ["git", "add", "-A"], timeoutMinutes: 1 }],
      workspace: { kind: "direct", dir: box.repo, branch: null, baseCommit: null },
      runDir: join(box.dir, "run"),
      env: { PATH: process.env.PATH ?? "" },
      sandbox: null,
      signal: new AbortController().signal,
    });
    expect(records.map((r) => [r.name, r.outcome, r.note])).toEqual([
      ["unstage", "passed", "it changed the checkout's index (put back)"],
      ["stage", "passed", "it changed the checkout's index (put back)"],
    ]);
    expect(gitAs(box.repo, "status", "--porcelain")).toBe(before);
  });

  it("a cancel during the checks stops the check under way at once and ends the run as a cancel", async () => {
    const hangs = nodeCheck("e2e", "console.log('pid ' + process.pid); setInterval(() => {}, 1000)");
    // Unsandboxed: the check's pid as printed is then the host's, for the test to watch.
    const { ctx, ws } = await tempApp(checksConfig([hangs, PASSES("after")], { sandbox: "none" }));
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Hang", type: "code", agent: "builder" }, "cli");
    await runPass(ctx);
    const runner = new Runner(localPort(ctx), {
      id: "night-runner",
      slots: 1,
      labels: [],
      config: ctx.config,
      dataDir: join(ws.dir, "data"),
      sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME },
      clock: ctx.clock,
      sandbox: await sandboxOf(ctx, ws.dir),
    });
    await runner.poll([id]);
    const log = join(ws.dir, "data", "runs", `${id}-1`, "checks", "e2e.log");
    const pid = Number(await waitFor(() => existsSync(log) && /pid (\d+)/.exec(readFileSync(log, "utf8"))?.[1], "the check to start", 15_000));
    await cancelTask(ctx, id, "not needed", "cli");
    await waitFor(() => !processAlive(pid), "the check's process to be gone", 5_000);
    await runner.idle();
    const { state } = await loadTask(ctx, id);
    expect(state.status).toBe("cancelled");
    expect(state.result).toBeNull();
    expect(state.activity.at(-1)!.text).toMatch(/^run stopped on night-runner: its agent was ended/);
    expect(existsSync(join(ws.dir, "data", "runs", `${id}-1`, "checks", "after.log"))).toBe(false);
  });

  it("a check that hangs is stopped at its timeout and recorded as timed out (time moved by hand)", async () => {
    const sandbox = gitSandbox("cos-check-hang-", { "README.md": "site\n" });
    const timers = new ManualTimers();
    let spawned = false;
    const running = runChecks({
      taskId: 7,
      attempt: 1,
      checks: [{ name: "e2e", command: [process.execPath, "-e", "console.log('waiting for the browser'); setInterval(() => {}, 1000)"], timeoutMinutes: 2 }],
      workspace: { kind: "direct", dir: sandbox.repo, branch: null, baseCommit: null },
      runDir: join(sandbox.dir, "run"),
      env: { PATH: process.env.PATH ?? "" },
      sandbox: null,
      onSpawn: () => (spawned = true),
      signal: new AbortController().signal,
      timers,
    });
    await waitFor(() => spawned && existsSync(join(sandbox.dir, "run", "checks", "e2e.log")) && readFileSync(join(sandbox.dir, "run", "checks", "e2e.log"), "utf8"), "the check to print");
    timers.advance(2 * 60_000);
    const { records, problems } = await running;
    expect(problems).toEqual([]);
    expect(records).toEqual([{ name: "e2e", outcome: "timed_out", exitCode: null, durationMs: 120_000, tail: ["waiting for the browser"] }]);
  });
});

describe.skipIf(!bwrap)("checks inside the agent's sandbox", () => {
  // From the task's worktree (<root>/data/worktrees/1), cos's config file, its store, and the agent's own run folder
  // (its prompt; with a preset, its MCP wiring and token).
  const reads = (name: string, file: string) => nodeCheck(name, `console.log(require('fs').readFileSync('../../../${file}', 'utf8').length, 'bytes read')`);
  const peeks = [reads("config", "cos.config.json"), reads("store", "cos.db"), reads("run", "data/runs/1-1/prompt.md")];

  it("a check that reads cos's config file or its store fails in the sandbox, and sees only the agent's environment", async () => {
    const envCheck = nodeCheck("env", "console.log(Object.keys(process.env).sort().join(' '))");
    // Outside /tmp: the sandbox's /tmp is a tmpfs of its own, which would hide these files whatever the masks do.
    const { ctx, root } = await appOutsideTmp(checksConfig([...peeks, envCheck]));
    siteRepo(root);
    const id = await queueTask(ctx, { title: "Peek", type: "code", agent: "builder" }, "cli");
    await passAndRun(ctx, root, [], { TELEGRAM_BOT_TOKEN: "123:secret-bot-token", SOME_OTHER: "x" });
    const [config, store, runFolder, env] = (await loadTask(ctx, id)).state.result!.checks!;
    expect(id).toBe(1);
    expect(config).toMatchObject({ name: "config", outcome: "failed" });
    expect(config!.tail.join("\n")).toMatch(/EACCES|ENOENT/);
    expect(store).toMatchObject({ name: "store", outcome: "failed" });
    expect(store!.tail.join("\n")).toMatch(/ENOENT/);
    expect(runFolder).toMatchObject({ name: "run", outcome: "failed" });
    expect(runFolder!.tail.join("\n")).toMatch(/ENOENT/);
    // bwrap's --chdir sets PWD; nothing of the runner's own environment crosses.
    expect(env).toMatchObject({ outcome: "passed", tail: ["CI COS_ATTEMPT COS_TASK_ID COS_WORKDIR HOME PATH PWD"] });
  });

  it("the control: unsandboxed, the same checks read both files", async () => {
    const { ctx, root } = await appOutsideTmp(checksConfig(peeks, { sandbox: "none" }));
    siteRepo(root);
    const id = await queueTask(ctx, { title: "Peek", type: "code", agent: "builder" }, "cli");
    await passAndRun(ctx, root);
    const bytesRead = { outcome: "passed", tail: [expect.stringMatching(/^\d+ bytes read$/)] };
    expect((await loadTask(ctx, id)).state.result!.checks).toMatchObject([bytesRead, bytesRead, bytesRead]);
  });
});
