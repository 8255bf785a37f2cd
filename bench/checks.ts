import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AppContext } from "../src/app/context.ts";
import { openApp } from "../src/app/open.ts";
import { loadTask, queueTask } from "../src/app/tasks.ts";
import { parseEnv } from "../src/config/env.ts";
import { runPass } from "../resolver/pass.ts";
import { localPort } from "../runner/port.ts";
import { Runner } from "../runner/runner.ts";
import { probeBwrap } from "../runner/sandbox/index.ts";
import { startSandbox } from "../runner/sandbox/runner-sandbox.ts";
import { gitWorkspace } from "../runner/workspace/port.ts";
import { median, round, type BenchGroup, type Metric } from "./lib.ts";

// What checks add to a night's run (issue 16): the same night (NIGHT_TASKS code tasks, one after another, each
// a real run in its worktree, sandboxed where bubblewrap works) with no checks, with two checks that do nothing
// (`true`: what cos itself adds per check: the supervisor, the sandbox, the working tree looked at before and put
// back after, the run guard again), and with a small real test suite (`node --test`, three tests) as the one check. Nights of the
// three kinds alternate, so a busy moment of the machine weighs on all of them alike; each figure is a median.

const NIGHT_TASKS = 6;
const ROUNDS = 3;

type Kind = "none" | "two_empty" | "node_test";

const AGENT = `require('fs').appendFileSync('work.txt', 'attempt ' + process.env.COS_ATTEMPT + '\\n'); console.log('## Summary\\nEdited work.txt.')`;
const CHECKS: Record<Kind, { name: string; command: string[] }[]> = {
  none: [],
  two_empty: [
    { name: "first", command: ["true"] },
    { name: "second", command: ["true"] },
  ],
  node_test: [{ name: "test", command: [process.execPath, "--test", "test/"] }],
};
const TESTS = `const test = require('node:test');
const assert = require('node:assert');
test('adds', () => assert.strictEqual(1 + 1, 2));
test('reads the work', () => assert.ok(require('fs').readFileSync('work.txt', 'utf8').includes('attempt')));
test('waits a little', async () => new Promise((done) => setTimeout(done, 20)));
`;

export const checksGroup: BenchGroup = {
  description: "what checks add to a night's run: the same night without checks, with two empty checks, with a node --test suite",
  async run(ctx) {
    const sandboxed = (await probeBwrap()).works;
    const nights: Record<Kind, number[]> = { none: [], two_empty: [], node_test: [] };
    const checkTimes: number[] = [];
    for (let round_ = 0; round_ < ROUNDS; round_++) {
      for (const kind of Object.keys(nights) as Kind[]) {
        const night = await runNight(kind, sandboxed);
        nights[kind].push(night.ms);
        checkTimes.push(...night.checkMs);
        ctx.log(`round ${round_ + 1}, ${kind}: ${round(night.ms / 1000, 2)} s for ${NIGHT_TASKS} tasks`);
      }
    }
    const p50 = { none: median(nights.none), two: median(nights.two_empty), tests: median(nights.node_test) };
    const perCheck = (p50.two - p50.none) / (NIGHT_TASKS * 2);
    const perTaskTests = (p50.tests - p50.none) / NIGHT_TASKS;
    const suite = median(checkTimes);
    ctx.log(`${sandboxed ? "sandboxed (bubblewrap)" : "unsandboxed (no working bubblewrap here)"}; ${ROUNDS} nights of each kind, medians`);
    ctx.log(
      `a night of ${NIGHT_TASKS} tasks: ${round(p50.none / 1000, 2)} s without checks, ${round(p50.two / 1000, 2)} s with two empty checks, ` +
        `${round(p50.tests / 1000, 2)} s with node --test; cos's own cost ${round(perCheck)} ms a check, node --test ${round(perTaskTests)} ms a task (the suite itself ${round(suite)} ms)`,
    );
    const metrics: Metric[] = [
      { name: "checks.night_none_s", value: round(p50.none / 1000, 2), unit: "s", note: `p50: ${NIGHT_TASKS} tasks run one after another, no checks` },
      { name: "checks.night_two_empty_s", value: round(p50.two / 1000, 2), unit: "s", note: "p50: the same night, two checks that do nothing" },
      { name: "checks.night_node_test_s", value: round(p50.tests / 1000, 2), unit: "s", note: "p50: the same night, node --test (3 tests) as the check" },
      { name: "checks.added_per_check_ms", value: round(perCheck), unit: "ms", note: "cos's own cost of a check: (two empty − none) / (tasks × 2)" },
      { name: "checks.added_per_task_node_test_ms", value: round(perTaskTests), unit: "ms", note: "a small real suite, per task: (node --test − none) / tasks" },
      { name: "checks.node_test_ms", value: round(suite), unit: "ms", note: "p50 of the suite's own duration, as its record says" },
    ];
    return metrics;
  },
};

/** One night: a fresh project and store, NIGHT_TASKS tasks run by the runner of cos serve, one after another. */
async function runNight(kind: Kind, sandboxed: boolean): Promise<{ ms: number; checkMs: number[] }> {
  // Under /var/tmp: the sandbox's /tmp is a tmpfs of its own.
  const root = mkdtempSync("/var/tmp/cos-bench-checks-");
  let ctx: AppContext | null = null;
  try {
    const repo = join(root, "site");
    mkdirSync(join(repo, "test"), { recursive: true });
    writeFileSync(join(repo, "README.md"), "site\n");
    writeFileSync(join(repo, "test", "work.test.js"), TESTS);
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=Bench", "-c", "user.email=bench@example.com", ...args], { cwd: repo, stdio: "pipe" });
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-q", "-m", "initial");
    const config = {
      projects: { site: { repo: "./site", checks: CHECKS[kind] } },
      agents: { builder: { command: [process.execPath, "-e", AGENT] } },
      runner: { sandbox: sandboxed ? "bwrap" : "none" },
    };
    writeFileSync(join(root, "cos.config.json"), JSON.stringify(config));
    const env = parseEnv({ COS_DB_URL: `file:${join(root, "data", "cos.db")}`, COS_CONFIG: join(root, "cos.config.json") });
    mkdirSync(join(root, "data"), { recursive: true });
    ctx = await openApp({ env, cwd: root, workspace: gitWorkspace });
    const sandbox = await startSandbox(ctx.config.runner.sandbox, {
      path: process.env.PATH,
      home: process.env.HOME,
      warn: () => {},
      places: { dataDir: join(root, "data"), worktreeRoot: ctx.config.worktreeRoot, configFile: join(root, "cos.config.json"), envFiles: [], dbUrl: env.COS_DB_URL, cwd: root, hide: [] },
    });
    const ids: number[] = [];
    for (let i = 0; i < NIGHT_TASKS; i++) ids.push(await queueTask(ctx, { title: `Task ${i + 1}`, type: "code", agent: "builder" }, "bench"));
    const runner = new Runner(localPort(ctx), {
      id: "bench",
      slots: 1,
      labels: [],
      config: ctx.config,
      dataDir: join(root, "data"),
      sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME },
      clock: ctx.clock,
      sandbox,
    });
    const started = performance.now();
    for (;;) {
      const dispatched = (await runPass(ctx)).dispatched.map((d) => d.taskId);
      if (!dispatched.length) break;
      await runner.poll(dispatched);
      await runner.idle();
    }
    const ms = performance.now() - started;
    const checkMs: number[] = [];
    for (const id of ids) {
      const { state } = await loadTask(ctx, id);
      if (state.status !== "review") throw new Error(`task #${id} ended ${state.status}: ${state.failure?.detail ?? ""}`);
      const failed = (state.result?.checks ?? []).filter((c) => c.outcome !== "passed");
      if (failed.length) throw new Error(`task #${id}: check ${failed[0]!.name} failed: ${failed[0]!.tail.join("\n")}`);
      if (kind === "node_test") checkMs.push(...(state.result?.checks ?? []).map((c) => c.durationMs));
    }
    return { ms, checkMs };
  } finally {
    await ctx?.db.close();
    rmSync(root, { recursive: true, force: true });
  }
}
