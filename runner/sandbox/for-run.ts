import { isAbsolute, resolve } from "node:path";
import { storeFile } from "../../src/store/db.ts";
import type { PresetName } from "../presets.ts";
import { credentialPaths } from "./credentials.ts";
import { gitDirsOf } from "./git-dirs.ts";
import type { GitDirs, SandboxSpec } from "./spec.ts";
import { ensureStateFolders, statePathsFor } from "./state.ts";

// The sandbox spec of one agent run from what the runner already knows: its workspace, the run folder, cos's
// own places, the agent's config. The runner calls this right before it spawns, so what is hidden and what is
// writable is decided in one place, here, and not by each caller.

export interface RunPlaces {
  /** The workspace's kind: a scratch folder gets no git dir, even when it lies inside some repository. */
  workspace: "worktree" | "direct" | "scratch";
  workdir: string;
  runDir: string;
  /** cos's data folder: hidden whole (other runs, pid files, the store by default, worktrees of other tasks). */
  dataDir: string;
  /** Where task worktrees live (other tasks' work): hidden too, when it lies outside the data folder. */
  worktreeRoot?: string;
  /** The config file cos loaded, if any: hidden. */
  configFile: string | null;
  /** The `.env` files cos loaded: hidden. */
  envFiles: readonly string[];
  /** COS_DB_URL: a `file:` store has its folder hidden; a remote one (`libsql://…`) has nothing on this host. */
  dbUrl: string;
  /** Relative `file:` URLs and paths are relative to this folder (cos's working directory). */
  cwd: string;
  preset: PresetName | undefined;
  /** Paths the agent's config adds to its writable state (`~/…` or absolute). */
  extraStatePaths: readonly string[];
  /** `runner.hide`: more paths to hide (`~/…` or absolute), beyond the credential stores of credentials.ts. */
  hide?: readonly string[];
  /** The home of the user cos runs as, when it differs from the agent's HOME: its credentials are hidden too. */
  ownHome?: string | null;
  /** `agents.<name>.network`; true unless set to false. */
  network: boolean;
  /** The agent's whole environment (DESIGN §7's allowlist plus the COS_* variables); HOME is read from it. */
  env: Record<string, string>;
  /** The agent's argv, placeholders filled. */
  command: string[];
  bwrap?: string;
  /** The work folder's git dirs when the caller read them already (the run guard does): spares a git process. */
  git?: GitDirs | null;
}

export async function sandboxSpecForRun(places: RunPlaces): Promise<SandboxSpec> {
  const abs = (path: string) => (isAbsolute(path) ? path : resolve(places.cwd, path));
  const home = places.env.HOME;
  const state = home ? statePathsFor(places.preset, places.extraStatePaths, abs(home), places.env) : [];
  ensureStateFolders(state);
  const credentials = credentialPaths({
    homes: [...(home ? [abs(home)] : []), ...(places.ownHome ? [places.ownHome] : [])],
    extra: places.hide ?? [],
    statePaths: state.map((s) => s.path),
  });
  return {
    workdir: abs(places.workdir),
    runDir: abs(places.runDir),
    git: places.workspace === "scratch" ? null : places.git !== undefined ? places.git : await gitDirsOf(abs(places.workdir)),
    statePaths: state.map((s) => s.path),
    hidden: [
      abs(places.dataDir),
      ...(places.worktreeRoot ? [abs(places.worktreeRoot)] : []),
      ...(places.configFile ? [abs(places.configFile)] : []),
      ...places.envFiles.map(abs),
      ...credentials,
    ],
    storeFile: storeFileOf(places.dbUrl, places.cwd),
    network: places.network,
    env: places.env,
    command: places.command,
    ...(places.bwrap ? { bwrap: places.bwrap } : {}),
  };
}

/** The store's file for a `file:` URL (query string dropped), null for a remote store or an in-memory one. */
export function storeFileOf(dbUrl: string, cwd: string): string | null {
  return storeFile(dbUrl, cwd);
}
