import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { join as joinPath } from "node:path";
import { agentEnvironment, runAgent, supervisedArgv, type AgentRunSpec } from "../runner/agent.ts";
import { runFiles } from "../runner/agent/run-folder.ts";
import { buildSandbox, gitDirsOf, probeBwrap, viaArgsFd, type SandboxSpec } from "../runner/sandbox/index.ts";
import { sandboxLaunch, startSandbox } from "../runner/sandbox/runner-sandbox.ts";
import { SandboxWatch } from "../runner/sandbox/watch.ts";
import { guardRun } from "../runner/workspace/guard.ts";
import type { PreparedWorkspace } from "../runner/workspace.ts";
import { median, round, type BenchGroup, type Metric } from "./lib.ts";

// The sandbox's own cost per run (issue 12: under 50 ms added): the start-up of an agent that exits at once
// (`true`), spawned from Node as the supervisor spawns it, with and without bubblewrap, side by side. The
// sandboxed runs use the mounts of a real worktree run (data folder hidden, run and work folders shown again,
// the git dir's read-only parts, a state folder, the store's folder) and pass bwrap its options on fd 3.

const RUNS = 50;
const WARMUP = 5;

export const sandboxGroup: BenchGroup = {
  description: "the agent sandbox: start-up of an agent that exits at once, with and without bubblewrap",
  async run(ctx) {
    const probe = await probeBwrap();
    if (!probe.works) {
      ctx.log(`skipped: ${probe.path ? `${probe.path} cannot sandbox here (${probe.error})` : "bubblewrap (bwrap) is not on PATH"}`);
      return [];
    }
    // Under /var/tmp, not the group's /tmp folder: under the private /tmp half of the mounts would be left out as redundant.
    const root = mkdtempSync("/var/tmp/cos-bench-sandbox-");
    try {
      const spec = await fixtureSpec(root);
      const plain = () => timeSpawn(["true"], spec.env, null);
      const online = viaArgsFd(buildSandbox(spec));
      const offline = viaArgsFd(buildSandbox({ ...spec, network: false }));
      const sandboxed = () => timeSpawn(online.argv, spec.env, online.data);
      const cutOff = () => timeSpawn(offline.argv, spec.env, offline.data);
      for (let i = 0; i < WARMUP; i++) await Promise.all([plain(), sandboxed(), cutOff()].map((p) => p.catch(() => 0)));
      const times = { plain: [] as number[], bwrap: [] as number[], offline: [] as number[] };
      // Interleaved, so a busy moment of the machine weighs on all three alike.
      for (let i = 0; i < RUNS; i++) {
        times.plain.push(await plain());
        times.bwrap.push(await sandboxed());
        times.offline.push(await cutOff());
      }
      const p50 = { plain: median(times.plain), bwrap: median(times.bwrap), offline: median(times.offline) };
      const mounts = buildSandbox(spec).mounts.length;
      ctx.log(`${probe.version ?? "bwrap"}; ${RUNS} runs each after ${WARMUP} warm-ups; ${mounts} mounts over the base`);
      ctx.log(`p50: plain ${round(p50.plain, 2)} ms, bwrap ${round(p50.bwrap, 2)} ms, bwrap without network ${round(p50.offline, 2)} ms`);
      const wired = await wiredRuns(root, spec);
      ctx.log(
        `a whole run as the runner makes it (supervisor, spec, args file, namespace wait), p50: plain ${round(wired.plain, 2)} ms, ` +
          `bwrap ${round(wired.bwrap, 2)} ms; the run guard (git dir and refs before and after) ${round(wired.guard, 2)} ms`,
      );
      const metrics: Metric[] = [
        { name: "sandbox.run_plain_ms", value: round(wired.plain, 2), unit: "ms", note: `p50 of ${WIRED_RUNS}: runAgent of \`true\` under supervise.mjs` },
        { name: "sandbox.run_bwrap_ms", value: round(wired.bwrap, 2), unit: "ms", note: `p50 of ${WIRED_RUNS}: the same in the sandbox, its spec built per run` },
        { name: "sandbox.run_added_ms", value: round(wired.bwrap - wired.plain, 2), unit: "ms", target: { max: 50 }, note: "the sandbox's cost per run: bwrap − plain, p50" },
        { name: "sandbox.guard_ms", value: round(wired.guard, 2), unit: "ms", note: `p50 of ${WIRED_RUNS}: guardRun before and check after, on a worktree` },
        { name: "sandbox.start_plain_ms", value: round(p50.plain, 2), unit: "ms", note: `p50 of ${RUNS}: spawn \`true\` and wait for its exit` },
        { name: "sandbox.start_bwrap_ms", value: round(p50.bwrap, 2), unit: "ms", note: `p50 of ${RUNS}: the same inside bwrap, network on` },
        { name: "sandbox.added_ms", value: round(p50.bwrap - p50.plain, 2), unit: "ms", target: { max: 50 }, note: "bwrap − plain, p50" },
        {
          name: "sandbox.added_no_network_ms",
          value: round(p50.offline - p50.plain, 2),
          unit: "ms",
          target: { max: 50 },
          note: "bwrap --unshare-net − plain, p50",
        },
      ];
      return metrics;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

const WIRED_RUNS = 20;

/**
 * A run as the runner makes it, of an agent that exits at once: plain (runAgent → supervise.mjs → agent), and
 * sandboxed (the spec built per run, bwrap's options written to their file, the namespace waited for). And the run
 * guard's cost: the git dir fingerprinted and the refs read before the run, and checked after it.
 */
async function wiredRuns(root: string, spec: SandboxSpec): Promise<{ plain: number; bwrap: number; guard: number }> {
  const sandbox = await startSandbox("bwrap", {
    path: process.env.PATH,
    home: spec.env.HOME,
    warn: () => {},
    places: { dataDir: joinPath(root, "data"), worktreeRoot: joinPath(root, "data", "worktrees"), configFile: joinPath(root, "cos.config.json"), envFiles: [joinPath(root, ".env")], dbUrl: `file:${joinPath(root, "data", "cos.db")}`, cwd: root, hide: [] },
  });
  const runSpec = (n: number): AgentRunSpec => ({
    argv: supervisedArgv(["true"]),
    prompt: "Do nothing.",
    taskId: 7,
    attempt: n,
    workdir: spec.workdir,
    runDir: joinPath(root, "data", "runs", `7-${n}`),
    envAllow: [],
    sourceEnv: spec.env,
    timeoutMs: 60_000,
  });
  const plain = async (n: number) => {
    const started = performance.now();
    await runAgent(runSpec(n));
    return performance.now() - started;
  };
  const sandboxed = async (n: number) => {
    const started = performance.now();
    const agentSpec = runSpec(n);
    const launch = await sandboxLaunch(sandbox, {
      taskId: 7,
      attempt: n,
      workspace: "worktree",
      workdir: spec.workdir,
      runDir: agentSpec.runDir,
      preset: "claude-code",
      statePaths: [],
      network: true,
      env: agentEnvironment(agentSpec, runFiles(agentSpec.runDir)),
      command: ["true"],
      // The runner hands over the git dirs its run guard read (measured apart, as sandbox.guard_ms).
      git: spec.git,
    });
    if ("refusal" in launch) throw new Error(launch.refusal);
    const watch = new SandboxWatch();
    const result = await runAgent({ ...agentSpec, argv: supervisedArgv(launch.argv, launch.argsFile) }, { onSpawn: (pid) => watch.start(pid) });
    launch.discard();
    await watch.settle();
    if (result.exitCode !== 0) throw new Error(`the sandboxed run exited ${result.exitCode}: ${result.output}`);
    return performance.now() - started;
  };
  const workspace: PreparedWorkspace = { kind: "worktree", dir: spec.workdir, branch: "cos/task-7", baseCommit: null };
  const guarded = async (n: number) => {
    const started = performance.now();
    const guard = await guardRun(workspace, 7, n);
    await guard!.check();
    guard!.release();
    return performance.now() - started;
  };
  for (let i = 0; i < 3; i++) await Promise.all([plain(1000 + i), sandboxed(2000 + i)]);
  const times = { plain: [] as number[], bwrap: [] as number[], guard: [] as number[] };
  for (let i = 0; i < WIRED_RUNS; i++) {
    times.plain.push(await plain(i * 3 + 1));
    times.bwrap.push(await sandboxed(i * 3 + 2));
    times.guard.push(await guarded(i * 3 + 3));
  }
  return { plain: median(times.plain), bwrap: median(times.bwrap), guard: median(times.guard) };
}

/** A repository with a task worktree, cos's data folder with a store, a run folder and a home with a state folder. */
async function fixtureSpec(root: string): Promise<SandboxSpec> {
  const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "user.name=Bench", "-c", "user.email=bench@example.com", ...args], { cwd, env: { PATH: process.env.PATH }, stdio: "pipe" });
  const repo = join(root, "repo");
  const data = join(root, "data");
  const runDir = join(data, "runs", "7-1");
  const worktree = join(data, "worktrees", "7");
  const home = join(root, "home");
  mkdirSync(repo);
  mkdirSync(runDir, { recursive: true });
  mkdirSync(join(home, ".claude"), { recursive: true });
  writeFileSync(join(data, "cos.db"), "");
  writeFileSync(join(root, ".env"), "");
  writeFileSync(join(root, "cos.config.json"), "{}");
  git(repo, "init", "-q", "-b", "main");
  git(repo, "commit", "-q", "--allow-empty", "-m", "initial");
  git(repo, "worktree", "add", "-q", "-b", "cos/task-7", worktree, "main");
  return {
    workdir: worktree,
    runDir,
    git: await gitDirsOf(worktree),
    statePaths: [join(home, ".claude"), join(home, ".claude.json")],
    hidden: [data, join(root, ".env"), join(root, "cos.config.json")],
    storeFile: join(data, "cos.db"),
    network: true,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, LANG: "C.UTF-8" },
    command: ["true"],
  };
}

/** Milliseconds from spawn to exit; bwrap's options, when given, go down fd 3. */
function timeSpawn(argv: string[], env: Record<string, string>, options: Buffer | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: options ? ["ignore", "ignore", "pipe", "pipe"] : ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    if (options) (child.stdio[3] as NodeJS.WritableStream).end(options);
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`${argv[0]} exited ${code}: ${stderr.trim()}`));
    });
  });
}
