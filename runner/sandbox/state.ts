import { mkdirSync } from "node:fs";
import type { PresetName } from "../presets.ts";
import { assertAbsolute, expandHome } from "./paths.ts";

// Where each agent CLI keeps its own state (login, settings, sessions, caches). The sandbox keeps these
// read-write and everything else of the home read-only, so a CLI works as it does outside, and an agent
// cannot write `~/.gitconfig`, `~/.bashrc` or another CLI's settings.

export interface StatePath {
  /** `~/…` or absolute. */
  path: string;
  /**
   * A folder to create before the run when it is missing: in the read-only home the CLI could not create it.
   * False for files, and for the paths an agent's config adds (cos cannot know whether they are folders).
   */
  createFolder: boolean;
}

export const PRESET_STATE_PATHS: Record<PresetName, readonly StatePath[]> = {
  // Claude Code: ~/.claude (credentials, settings, sessions) and ~/.claude.json (its config, written on use).
  "claude-code": [
    { path: "~/.claude", createFolder: true },
    { path: "~/.claude.json", createFolder: false },
  ],
  codex: [{ path: "~/.codex", createFolder: true }],
  gemini: [{ path: "~/.gemini", createFolder: true }],
  // Aider writes its chat and input history into the repository (the work folder); ~/.aider holds caches.
  aider: [{ path: "~/.aider", createFolder: true }],
};

/** The absolute state paths of a run: the preset's, then the agent's own additions (`~/…` or absolute). */
export function statePathsFor(preset: PresetName | undefined, extra: readonly string[], home: string): StatePath[] {
  assertAbsolute(home, "HOME");
  const fromPreset = preset ? PRESET_STATE_PATHS[preset] : [];
  const all: StatePath[] = [...fromPreset, ...extra.map((path) => ({ path, createFolder: false }))];
  return all.map((entry) => {
    const path = expandHome(entry.path, home);
    assertAbsolute(path, `the state path "${entry.path}"`);
    return { path, createFolder: entry.createFolder };
  });
}

/** Creates the missing state folders (mode 0700) before a run. */
export function ensureStateFolders(paths: readonly StatePath[]): void {
  for (const entry of paths) if (entry.createFolder) mkdirSync(entry.path, { recursive: true, mode: 0o700 });
}
