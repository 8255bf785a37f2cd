import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { PRESETS, versionWarning, type PresetName } from "./presets.ts";

// Which agent CLI a run used: its `--version`, recorded with the result, and whether the preset was proven
// with it. A CLI's flags and output change between releases (Codex dropped --full-auto; Gemini began to
// refuse untrusted folders), so a version the preset was not proven with is worth a warning on the card.

/** What the runner records with a result. */
export interface CliSeen {
  /** The CLI as people name it: "Claude Code". */
  name: string;
  version: string | null;
  /** Set when the version is not one the preset was proven with (or could not be read). */
  warning: string | null;
}

const VERSION_TIMEOUT_MS = 30_000;

/** The executable a command name means on `pathVariable` (a name with a slash is taken as a path), or null. */
export function findExecutable(command: string, pathVariable: string | undefined): string | null {
  const candidates = command.includes("/") ? [command] : (pathVariable ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Runs `<binary> --version` (the preset's way) with the agent's environment; never throws. */
export async function readCliVersion(
  preset: PresetName,
  binary: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ version: string | null; printed: string; error: string | null }> {
  try {
    const ran = await execa(binary, PRESETS[preset].version.args, { env, extendEnv: false, cwd, reject: false, timeout: VERSION_TIMEOUT_MS, stdin: "ignore" });
    const printed = `${ran.stdout ?? ""}\n${ran.stderr ?? ""}`.trim();
    const version = PRESETS[preset].version.parse(String(ran.stdout ?? "")) ?? PRESETS[preset].version.parse(printed);
    return { version, printed, error: ran.exitCode === 0 ? null : (ran.shortMessage ?? `exit ${ran.exitCode}`) };
  } catch (error) {
    return { version: null, printed: "", error: (error as Error).message };
  }
}

/**
 * The version of each CLI binary this runner has run, read once per binary file (a new install has another
 * modification time, and is read again).
 */
export class CliVersions {
  private readonly seen = new Map<string, Promise<CliSeen>>();

  async of(preset: PresetName, command: string, env: Record<string, string>, cwd: string): Promise<CliSeen> {
    const binary = findExecutable(command, env.PATH);
    const name = PRESETS[preset].title;
    if (!binary) return { name, version: null, warning: versionWarning(preset, null) };
    let key = binary;
    try {
      const real = realpathSync(binary);
      const stat = statSync(real);
      key = `${preset}:${real}:${stat.mtimeMs}:${stat.size}`;
    } catch {
      // read it every time
    }
    let seen = this.seen.get(key);
    if (!seen) {
      seen = readCliVersion(preset, binary, env, cwd).then(({ version }) => ({ name, version, warning: versionWarning(preset, version) }));
      this.seen.set(key, seen);
    }
    return seen;
  }
}
