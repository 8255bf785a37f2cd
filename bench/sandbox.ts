import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildSandbox, gitDirsOf, probeBwrap, viaArgsFd, type SandboxSpec } from "../runner/sandbox/index.ts";
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
      const metrics: Metric[] = [
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
