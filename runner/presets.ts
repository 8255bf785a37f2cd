import { ValidationError } from "../src/shared/errors.ts";
import { aider } from "./presets/aider.ts";
import { claudeCode } from "./presets/claude-code.ts";
import { codex } from "./presets/codex.ts";
import { gemini } from "./presets/gemini.ts";
import type { Preset, PresetName } from "./presets/preset.ts";
import { compareVersions } from "../src/shared/versions.ts";

// What the runner knows about each agent CLI: how to invoke it unattended and wire it to cos's MCP server, the
// versions it was proven with, its credentials and state folders, how to read its result, and what it prints
// about cost, tokens and usage limits. One file per CLI in presets/; adding a CLI is its file, its name in
// config's PRESET_NAMES and one line here.

export type { LimitReport, Preset, PresetName, StatePath } from "./presets/preset.ts";

export const PRESETS: Record<PresetName, Preset> = {
  "claude-code": claudeCode,
  codex,
  aider,
  gemini,
};

/** The argv to run: the configured command wins over the preset's. */
export function agentCommand(agent: { preset?: PresetName; command?: string[] }): string[] {
  if (agent.command?.length) return [...agent.command];
  if (agent.preset) return [...PRESETS[agent.preset].command];
  throw new ValidationError("the agent has neither a command nor a preset");
}

/**
 * The result Markdown inside a CLI's structured stdout: Claude Code's `result`, Gemini's `response`, Codex's last
 * agent message when it prints JSON lines. Anything else, and any output that is not such JSON, comes back as is.
 * Meant for captured stdout, not for a COS_RESULT_FILE the agent wrote.
 */
export function resultText(preset: PresetName | undefined, output: string): string {
  return preset ? PRESETS[preset].resultText(output) : output;
}

export { compareVersions };

/** The versions a preset was proven with, as people read them. */
export function provenText(preset: Preset): string {
  if (!preset.proven) return "never proven against the real CLI";
  const { from, to } = preset.proven;
  return from === to ? `proven with ${from}` : `proven with ${from} to ${to}`;
}

/**
 * Why a CLI version is not one the preset was proven with, or null when it is. Outside the range the preset may
 * still work: flags and output change between releases, so the card and `cos doctor` say so.
 */
export function versionWarning(name: PresetName, version: string | null): string | null {
  const preset = PRESETS[name];
  if (version === null) return `the ${preset.title} version could not be read (the ${name} preset is ${provenText(preset)})`;
  if (!preset.proven) return `${preset.title} ${version}: the ${name} preset was never run against a real ${preset.title}`;
  const { from, to } = preset.proven;
  if (compareVersions(version, from) >= 0 && compareVersions(version, to) <= 0) return null;
  return `${preset.title} ${version} is not a version the ${name} preset was proven with (${from === to ? from : `${from} to ${to}`}); if runs go wrong, install ${to}`;
}
