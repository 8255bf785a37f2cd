import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { loadTask } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import type { TaskState } from "../../src/domain/task/task.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { cleanupsAfterEach, COS_BIN } from "../helpers.ts";
import { waitFor } from "../wait.ts";
import { git } from "./git-kit.ts";
import type { CliFound } from "./cli-real-kit.ts";

// Shared by tests/integration/preset-*.test.ts: a real agent CLI run by a real `cos serve` or `cos tick --wait`,
// configured the way the README tells a user to (a `preset`, the variables to list in `env`), pointed at a local
// fake of its vendor's API through the CLI's own base-URL variable. The CLI is on PATH under its usual name, as
// an install puts it there; everything it writes goes to the world's HOME and TMPDIR, never the real ones.

export interface PresetWorld {
  /** The folder of cos.config.json: data/ (store, worktrees, runs) and the project repo `site/` live here. */
  dir: string;
  repo: string;
  home: string;
  /** What every cos process of the world runs with. */
  env: Record<string, string>;
  worktree(taskId: number): string;
  /** One `cos` command at `now` (COS_NOW), to the end. */
  cos(args: string[], now?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `cos serve` at `now`, listening; stopped at the end of the test. */
  serve(now?: string): Promise<{ output(): string }>;
  /** The store, opened in this process to read what the commands did. */
  task(id: number): Promise<TaskState>;
  ctx(): Promise<AppContext>;
}

const cleanups = cleanupsAfterEach();

/**
 * A world with one project (a git repo on `main`) and the agents given, `cli` on PATH as `binName`. `env` holds
 * the variables the agents' `env` lists (keys, base URLs); the world adds PATH, HOME, TMPDIR and TZ=UTC.
 */
export function presetWorld(
  cli: CliFound,
  binName: string,
  agents: Record<string, object>,
  env: Record<string, string>,
  options: { config?: object; runAs?: number } = {},
): PresetWorld {
  // Under /var/tmp, not /tmp: Codex's workspace-write sandbox lets a CLI write anywhere in /tmp.
  const base = existsSync("/var/tmp") ? "/var/tmp" : tmpdir();
  const dir = realpathSync(mkdtempSync(join(base, `cos-preset-${binName}-`)));
  if (!process.env.CLI_REAL_KEEP) cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const [bin, home, tmp, repo] = ["bin", "home", "tmp", "site"].map((d) => join(dir, d)) as [string, string, string, string];
  for (const d of [bin, home, tmp, repo]) mkdirSync(d, { recursive: true });
  // Gemini CLI is a JavaScript file with a node shebang; the native ones are their binaries.
  symlinkSync(cli.command.at(-1)!, join(bin, binName));
  git(repo, "init", "-q", "-b", "main");
  writeFileSync(join(repo, "README.md"), "# site\n");
  git(repo, "add", ".");
  git(repo, "-c", "user.name=Test Person", "-c", "user.email=test@example.com", "commit", "-q", "-m", "init");
  writeFileSync(join(dir, "cos.config.json"), JSON.stringify({ projects: { site: { repo: "./site" } }, agents, ...options.config }, null, 2));
  // Another user's world: theirs to write, and every cos process (so every agent) runs as them.
  if (options.runAs !== undefined) {
    chownTree(dir, options.runAs);
    // The first run of `cos` after a source change bundles into dist/, which only its owner may write.
    execFileSync(process.execPath, [COS_BIN, "help"], { stdio: "ignore" });
  }
  const asUser = (argv: string[]) =>
    options.runAs === undefined ? argv : ["setpriv", `--reuid=${options.runAs}`, `--regid=${options.runAs}`, "--clear-groups", ...argv];
  const worldEnv: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: home,
    TMPDIR: tmp,
    TZ: "UTC",
    LANG: "C.UTF-8",
    COS_DB_URL: `file:${join(dir, "data", "cos.db")}`,
    COS_CONFIG: join(dir, "cos.config.json"),
    COS_PORT: "0",
    ...env,
  };
  let opened: AppContext | null = null;
  const ctx = async () => {
    if (!opened) {
      opened = await openApp({ env: parseEnv(worldEnv), cwd: dir, workspace: gitWorkspace });
      const mine = opened;
      cleanups.push(() => mine.db.close());
    }
    return opened;
  };
  const spawnCos = (args: string[], now?: string): { child: ChildProcess; output: () => string; done: Promise<number> } => {
    const [file, ...argv] = asUser([process.execPath, COS_BIN, ...args]);
    const child = spawn(file!, argv, { cwd: dir, env: { ...worldEnv, ...(now ? { COS_NOW: now } : {}) }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const done = new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? -1)));
    return { child, output: () => output, done };
  };
  return {
    dir,
    repo,
    home,
    env: worldEnv,
    worktree: (taskId) => join(dir, "data", "worktrees", String(taskId)),
    cos: async (args, now) => {
      let stdout = "";
      let stderr = "";
      const [file, ...argv] = asUser([process.execPath, COS_BIN, ...args]);
      const child = spawn(file!, argv, { cwd: dir, env: { ...worldEnv, ...(now ? { COS_NOW: now } : {}) }, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const code = await new Promise<number>((resolve) => child.once("close", (c) => resolve(c ?? -1)));
      return { code, stdout, stderr };
    },
    serve: async (now) => {
      const server = spawnCos(["serve"], now);
      cleanups.push(async () => {
        if (server.child.exitCode === null) server.child.kill("SIGTERM");
        await server.done;
      });
      await waitFor(() => /listening on http:\/\/\S+/.test(server.output()), "cos serve to listen", 30_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${server.output()}`);
      });
      return { output: server.output };
    },
    task: async (id) => (await loadTask(await ctx(), id)).state,
    ctx,
  };
}

/** Waits until task `id` is in one of `statuses` (a run takes seconds; the deadline only catches a hang). */
export async function waitForTask(world: PresetWorld, id: number, statuses: string[], output: () => string = () => ""): Promise<TaskState> {
  return waitFor(
    async () => {
      const task = await world.task(id);
      return statuses.includes(task.status) ? task : null;
    },
    `task #${id} to be ${statuses.join(" or ")}`,
    90_000,
    100,
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}
${activityText(await world.task(id))}
${output()}`);
  });
}

/**
 * `cos tick --wait` at `atMs` (COS_NOW): one resolver pass that runs what it dispatched, here, to the end. The ids
 * it dispatched.
 */
export async function tickAt(world: PresetWorld, atMs: number): Promise<number[]> {
  const ran = await world.cos(["tick", "--wait", "--json"], iso(atMs));
  if (ran.code !== 0) throw new Error(`cos tick --wait at ${iso(atMs)} exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`);
  const report = JSON.parse(ran.stdout) as { dispatched: { taskId: number }[] };
  return report.dispatched.map((d) => d.taskId);
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) {
    const child = join(path, entry);
    if (lstatSync(child).isSymbolicLink()) lchownSync(child, uid, uid);
    else chownTree(child, uid);
  }
}

/** Queues what every preset test gives its agent: a code task in the world's project. */
export async function queueHello(world: PresetWorld, agent: string, atMs?: number): Promise<void> {
  const added = await world.cos(["task", "add", "Say hello", "--type", "code", "--agent", agent, "--project", "site"], atMs === undefined ? undefined : iso(atMs));
  if (added.code !== 0) throw new Error(`cos task add: ${added.stderr}`);
}

/** `cos serve` runs task #1 until it is in review (or failed: the assertion then shows its activity and the server's output). */
export async function serveToReview(world: PresetWorld): Promise<TaskState> {
  const server = await world.serve();
  const task = await waitForTask(world, 1, ["review", "failed"], server.output);
  expect(task.status, `${activityText(task)}\n${server.output()}`).toBe("review");
  return task;
}

/** What every test's fake answers last (cli-real-kit's SUMMARY), as the result of the first attempt. */
export const HELLO_RESULT = { attempt: 1, exitCode: 0, summary: "Wrote hello.txt with a greeting.", handoff: "hello.txt holds one line; nothing else changed." };

/**
 * The clock a fake's limit gate reads, moved with COS_NOW: `tick(ms)` is one `cos tick --wait` at `ms` with the
 * fake's "now" there too, and `before(ms)` the gate that holds while that "now" is earlier than `ms`.
 */
export function movingClock(world: PresetWorld): { before(untilMs: number): () => boolean; tick(ms: number): Promise<number[]> } {
  let now = 0;
  return {
    before: (untilMs) => () => now < untilMs,
    tick: (ms) => {
      now = ms;
      return tickAt(world, ms);
    },
  };
}

/** The activity of a task, one line each, for an assertion message. */
export function activityText(task: TaskState): string {
  return task.activity.map((a) => `${a.at} ${a.text}`).join("\n");
}

/** The files a commit on the task's branch changed against main. */
export function branchFiles(repo: string, taskId: number): string[] {
  return git(repo, "diff", "--name-only", `main...cos/task-${taskId}`).trim().split("\n").filter(Boolean);
}

/** T0 for a test that moves COS_NOW: now, to the second (the real CLIs print resets against the real clock). */
export function startOfTest(): number {
  return Math.floor(Date.now() / 1000) * 1000;
}

export const iso = (ms: number) => new Date(ms).toISOString();
