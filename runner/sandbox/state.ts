import { mkdirSync } from "node:fs";
import { PRESETS, type PresetName, type StatePath } from "../presets.ts";
import { assertAbsolute, expandHome } from "./paths.ts";

// Where each agent CLI keeps its own state (login, settings, sessions, caches). The sandbox keeps these
// read-write and everything else of the home read-only, so a CLI works as it does outside, and an agent
// cannot write `~/.gitconfig`, `~/.bashrc` or another CLI's settings. Each preset names its CLI's folders
// (runner/presets/<cli>.ts, `statePaths`), as the real CLIs were seen to write them (docs/agent-clis.md).

export type { StatePath } from "../presets.ts";

/**
 * The absolute state paths of a run: the preset's, then the agent's own additions (`~/…` or absolute). `env` is
 * the agent's environment: CLAUDE_CONFIG_DIR, CODEX_HOME and GEMINI_CLI_HOME move a CLI's state elsewhere.
 */
export function statePathsFor(preset: PresetName | undefined, extra: readonly string[], home: string, env: Record<string, string | undefined> = {}): StatePath[] {
  assertAbsolute(home, "HOME");
  const fromPreset = preset ? PRESETS[preset].statePaths(home, env) : [];
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
