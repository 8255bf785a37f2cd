import { ValidationError } from "../src/shared/errors.ts";
import { aider } from "./presets/aider.ts";
import { claudeCode } from "./presets/claude-code.ts";
import { codex } from "./presets/codex.ts";
import { gemini } from "./presets/gemini.ts";
import type { Preset, PresetName } from "./presets/preset.ts";

// What the runner knows about each agent CLI: how to invoke it unattended, how much of its stdout to keep,
// how to read its result, and what it prints about cost, tokens and usage limits. One file per CLI in
// presets/; adding a CLI is its file, its name in config's PRESET_NAMES and one line here.

export type { Preset, PresetName } from "./presets/preset.ts";

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
