import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { SandboxSetting } from "./mode.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import type { PresetName } from "../presets.ts";
import { buildSandbox, viaArgsFd } from "./build.ts";
import { sandboxSpecForRun, storeFileOf } from "./for-run.ts";
import { decideSandboxMode, networkUnavailable, probeBwrap, type BwrapProbe } from "./mode.ts";
import { within } from "./paths.ts";
import type { GitDirs } from "./spec.ts";

// The sandbox as a runner holds it: decided once when `cos serve`, `cos runner` or `cos tick --wait` starts
// (bubblewrap found and tried, or the warning), then applied to each run (WIRING.md).

/** cos's own places on this machine: what no agent may see. */
export interface CosPlaces {
  dataDir: string;
  worktreeRoot: string;
  /** The config file cos loaded, if any. */
  configFile: string | null;
  /** The `.env` files cos read. */
  envFiles: string[];
  /** COS_DB_URL: a `file:` store's folder is hidden. */
  dbUrl: string;
  /** What relative paths in the above are relative to. */
  cwd: string;
  /** `runner.hide`. */
  hide: string[];
}

export interface RunnerSandbox {
  mode: "bwrap" | "none";
  /** bwrap's path, in mode "bwrap". */
  bwrap: string | null;
  probe: BwrapProbe;
  places: CosPlaces;
}

/**
 * `runner.sandbox` on this machine, decided once at start: throws for "bwrap" when bubblewrap cannot sandbox
 * here, and hands `warn` the warning when "auto" falls back to running agents unsandboxed.
 */
export async function startSandbox(
  setting: SandboxSetting,
  options: { path: string | undefined; places: CosPlaces; home: string | undefined; warn(line: string): void },
): Promise<RunnerSandbox> {
  const probe = await probeBwrap(options.path);
  const decision = decideSandboxMode(setting, probe);
  if (decision.warning) options.warn(decision.warning);
  if (decision.mode === "bwrap") checkPlaces(options.places, options.home);
  return { mode: decision.mode, bwrap: decision.bwrap, probe, places: options.places };
}

/**
 * A store whose folder holds the agents' home cannot be hidden without hiding the home: refused at start
 * rather than at every run.
 */
function checkPlaces(places: CosPlaces, home: string | undefined): void {
  const store = storeFileOf(places.dbUrl, places.cwd);
  if (!store || !home) return;
  const folder = dirname(store);
  const agentHome = isAbsolute(home) ? home : resolve(places.cwd, home);
  if (within(folder, agentHome)) {
    throw new ValidationError(
      `the store ${store} lies in ${folder}, which holds the agents' home ${agentHome}; the sandbox hides the store's folder, so it would hide the home too. ` +
        `Move the store into a folder of its own (COS_DB_URL=file:/path/to/cos-data/cos.db)`,
    );
  }
}

export interface SandboxedRun {
  taskId: number;
  attempt: number;
  workspace: "worktree" | "direct" | "scratch";
  workdir: string;
  runDir: string;
  preset: PresetName | undefined;
  statePaths: readonly string[];
  network: boolean;
  /** Exactly the environment runAgent gives the agent. */
  env: Record<string, string>;
  /** The agent's argv, placeholders not yet filled (runAgent fills them in this argv too). */
  command: string[];
  /** The work folder's git dirs, read before the run (the run guard's); absent: read here. */
  git?: GitDirs | null;
}

/**
 * The argv the supervisor starts for a sandboxed run, and the file that holds bwrap's options (mode 0600, in
 * the data folder, outside the run folder: the agent sees neither, and `ps` shows no API key). The supervisor
 * removes the file once bwrap has it; `discard` removes it should the supervisor never start. A refusal is a
 * reason the run cannot go on as configured.
 */
export async function sandboxLaunch(
  sandbox: RunnerSandbox,
  run: SandboxedRun,
): Promise<{ argv: string[]; argsFile: string; discard(): void } | { refusal: string }> {
  if (sandbox.mode !== "bwrap" || !sandbox.bwrap) throw new ValidationError("sandboxLaunch needs a sandbox in mode bwrap");
  if (!run.network) {
    const refusal = networkUnavailable(sandbox.probe);
    if (refusal) return { refusal };
  }
  const { places } = sandbox;
  mkdirSync(run.runDir, { recursive: true });
  const ownHome = homedir();
  const spec = await sandboxSpecForRun({
    workspace: run.workspace,
    workdir: run.workdir,
    runDir: run.runDir,
    dataDir: places.dataDir,
    worktreeRoot: places.worktreeRoot,
    configFile: places.configFile,
    envFiles: places.envFiles,
    dbUrl: places.dbUrl,
    cwd: places.cwd,
    preset: run.preset,
    extraStatePaths: run.statePaths,
    hide: places.hide,
    ownHome: ownHome && ownHome !== run.env.HOME ? ownHome : null,
    network: run.network,
    env: run.env,
    command: run.command,
    bwrap: sandbox.bwrap,
    ...(run.git !== undefined ? { git: run.git } : {}),
  });
  const { argv, data } = viaArgsFd(buildSandbox(spec));
  const argsDir = join(places.dataDir, "runs");
  mkdirSync(argsDir, { recursive: true, mode: 0o700 });
  const argsFile = join(argsDir, `${run.taskId}-${run.attempt}.bwrap-args`);
  writeFileSync(argsFile, data, { mode: 0o600 });
  return { argv, argsFile, discard: () => rmSync(argsFile, { force: true }) };
}

/** The `.env` files a cos process read (io.ts reads the one in its working folder). */
export function envFilesIn(cwd: string): string[] {
  const file = join(cwd, ".env");
  return existsSync(file) ? [file] : [];
}
