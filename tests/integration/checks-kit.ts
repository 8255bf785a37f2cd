import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { afterEach } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { parseEnv } from "../../src/config/env.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { dirname, join } from "node:path";
import type { AppContext } from "../../src/app/context.ts";
import { runPass } from "../../resolver/pass.ts";
import { localPort } from "../../runner/port.ts";
import { Runner } from "../../runner/runner.ts";
import { startSandbox, type RunnerSandbox } from "../../runner/sandbox/runner-sandbox.ts";
import { ROOT } from "../helpers.ts";
import { gitAs, initRepo } from "./git-kit.ts";

// Issue 16's tests share this: a project `site` with checks, an agent that edits its work folder
// (tests/fixtures/agents/edits.mjs), and the runner cos serve runs, in this process, sandboxed or not.

export const EDITS_AGENT = join(ROOT, "tests", "fixtures", "agents", "edits.mjs");

export interface Check {
  name: string;
  command: string[];
  timeoutMinutes?: number;
}

/** A check that runs a line of JavaScript with node, in the work folder. */
export function nodeCheck(name: string, script: string, timeoutMinutes?: number): Check {
  return { name, command: [process.execPath, "-e", script], ...(timeoutMinutes ? { timeoutMinutes } : {}) };
}

export const PASSES = (name = "test") => nodeCheck(name, "console.log('41 tests passed')");
export const FAILS = (name = "lint") => nodeCheck(name, "console.log('src/a.ts:3 unused variable x'); console.error('1 problem'); process.exit(1)");

/** A config whose project `site` (at ./site) has `checks`, and agents that edit it with `agentArgs`. */
export function checksConfig(
  checks: Check[],
  options: { review?: object; sandbox?: "auto" | "none"; agentArgs?: string[]; agent?: object } = {},
): object {
  return {
    projects: { site: { repo: "./site", checks } },
    agents: { builder: { command: [process.execPath, EDITS_AGENT, ...(options.agentArgs ?? [])], ...options.agent } },
    review: options.review ?? {},
    runner: { sandbox: options.sandbox ?? "auto" },
  };
}

/** The project's repository, at `<dir>/site`, on main with a README and `files` committed. */
export function siteRepo(dir: string, files: Record<string, string> = {}): string {
  const repo = initRepo(join(dir, "site"));
  if (!Object.keys(files).length) return repo;
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  gitAs(repo, "add", ".");
  gitAs(repo, "commit", "-q", "-m", "files");
  return repo;
}

/** The runner's sandbox as `cos serve` decides it for this app's places. */
export function sandboxOf(ctx: AppContext, cwd: string): Promise<RunnerSandbox> {
  return startSandbox(ctx.config.runner.sandbox, {
    path: process.env.PATH,
    home: process.env.HOME,
    warn: () => {},
    places: {
      dataDir: dirname(ctx.config.worktreeRoot),
      worktreeRoot: ctx.config.worktreeRoot,
      configFile: join(cwd, "cos.config.json"),
      envFiles: [],
      dbUrl: ctx.env.COS_DB_URL,
      cwd,
      hide: ctx.config.runner.hide,
    },
  });
}

/** One resolver pass, then the runner of `cos serve` runs what it dispatched until every result is in. */
export async function passAndRun(ctx: AppContext, cwd: string, log: string[] = [], sourceEnv: Record<string, string> = {}): Promise<number[]> {
  const ids = (await runPass(ctx)).dispatched.map((d) => d.taskId);
  const runner = new Runner(localPort(ctx), {
    id: "checks-runner",
    slots: Math.max(1, ids.length),
    labels: [],
    config: ctx.config,
    dataDir: dirname(ctx.config.worktreeRoot),
    sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME, ...sourceEnv },
    clock: ctx.clock,
    sandbox: await sandboxOf(ctx, cwd),
    log: (line) => log.push(line),
  });
  await runner.poll(ids);
  await runner.idle();
  return ids;
}

/** Apps (a store and a config) in a folder under /var/tmp, for the sandbox's tests, closed and removed after each test. */
export function appsOutsideTmpClosedAfterEach(): (config: object) => Promise<{ ctx: AppContext; root: string }> {
  const opened: { ctx: AppContext; root: string }[] = [];
  afterEach(async () => {
    for (const { ctx, root } of opened.splice(0)) {
      await ctx.db.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
  return async (config) => {
    const root = realpathSync(mkdtempSync("/var/tmp/cos-checks-"));
    writeFileSync(join(root, "cos.config.json"), JSON.stringify(config));
    const env = parseEnv({ COS_DB_URL: `file:${join(root, "cos.db")}`, COS_CONFIG: join(root, "cos.config.json") });
    const ctx = await openApp({ env, cwd: root, workspace: gitWorkspace });
    opened.push({ ctx, root });
    return { ctx, root };
  };
}
