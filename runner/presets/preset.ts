import type { PRESET_NAMES } from "../../src/config/config.ts";
import type { Usage } from "../../src/domain/task/task.ts";

// The contract every agent CLI's preset fills in. Parsers read recorded CLI output and return null rather
// than a guess: a wrong cost would skew the nightly budget, and a false usage limit would park a task for hours.

export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  /**
   * Default argv with placeholders. Every preset takes the prompt on stdin (the runner always pipes it,
   * DESIGN §7): the CLIs that also take it as an argument would otherwise see it twice.
   */
  command: string[];
  /** How much of the end of stdout the runner keeps for the result; absent, the runner's default tail. */
  captureBytes?: number;
  /**
   * The result Markdown in the captured stdout: a CLI that prints structured output wraps it; anything it
   * cannot read comes back as is. Meant for captured stdout, not for a COS_RESULT_FILE the agent wrote.
   */
  resultText(stdout: string): string;
  /** Cost and tokens as the CLI reports them, or null. */
  usage(output: string, log: string): Usage | null;
  /** The CLI's usage-limit message and its reset time (ISO), or null when there is none. */
  usageLimit(output: string, log: string, now: Date): { resetAt: string | null } | null;
  /** One line for the README: how it is invoked, what it reports. */
  notes: string;
}

/** A count or an amount as a CLI printed it: finite and not negative, else unknown. */
export function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/** Null when the CLI reported none of the three figures. */
export function usageOrNull(usage: Usage): Usage | null {
  return usage.costUsd === null && usage.inputTokens === null && usage.outputTokens === null ? null : usage;
}

/** Adds up figures reported per turn or per model, staying null until one of them is known. */
export class TokenTally {
  input: number | null = null;
  output: number | null = null;

  add(input: number | null, output: number | null): void {
    if (input !== null) this.input = (this.input ?? 0) + input;
    if (output !== null) this.output = (this.output ?? 0) + output;
  }
}
