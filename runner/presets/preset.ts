import type { PRESET_NAMES } from "../../src/config/config.ts";
import type { Usage } from "../../src/domain/task/task.ts";

// The contract every agent CLI's preset fills in. Parsers read recorded CLI output and return null rather
// than a guess: a wrong cost would skew the nightly budget, and a false usage limit would park a task for hours.

export type PresetName = (typeof PRESET_NAMES)[number];

/** What a CLI said about its usage limit: when it is worth trying again (ISO), and the words it used. */
export interface LimitReport {
  /** Null when the CLI named no reset (or none that can be believed): the task backs off instead. */
  resetAt: string | null;
  /** The CLI's own line, for the task's activity and the failure's detail. */
  message: string;
}

/** A place the CLI keeps its own state: read-write in the sandbox (DESIGN §12). */
export interface StatePath {
  path: string;
  /** A folder to create before a run when missing (a read-only home would keep the CLI from creating it). */
  createFolder: boolean;
}

/** What a run's wiring starts from. */
export interface WiringInput {
  /** The agent's argv: the preset's, or the configured command. */
  argv: string[];
  /** The run's own folder, outside the worktree: wiring files go here. */
  runDir: string;
  /** cos's MCP endpoint for this run, or null when the runner has none (`cos tick --wait`). */
  mcp: { url: string; token: string } | null;
  /** The variables the agent may see (its `env` allowlist) with their values: a preset may translate one. */
  env: Record<string, string>;
  /**
   * The run is inside cos's sandbox (DESIGN §12). A CLI whose own sandbox cannot nest in it (Codex's bwrap needs
   * namespaces a sandbox without capabilities refuses) leaves the confinement to cos's.
   */
  sandboxed?: boolean;
}

export interface Wiring {
  argv: string[];
  /** Added to the agent's environment. */
  env: Record<string, string>;
  /** Written before the run, readable by the owner only; their folders are created. */
  files: { path: string; content: string }[];
}

export interface Preset {
  /** The CLI as people name it, for messages: "Claude Code". */
  title: string;
  /**
   * Default argv with placeholders. Every preset takes the prompt on stdin (the runner always pipes it,
   * DESIGN §7): the CLIs that also take it as an argument would otherwise see it twice.
   */
  command: string[];
  /** How much of the end of stdout the runner keeps for the result; absent, the runner's default tail. */
  captureBytes?: number;
  /**
   * The versions the preset was proven with against the real CLI (tests/integration/preset-*.test.ts), oldest
   * and newest; null when it was never run for real. Outside this range a run's result carries a warning.
   */
  proven: { from: string; to: string } | null;
  /** How the CLI prints its version: the arguments (after the binary), and the version in what it printed. */
  version: { args: string[]; parse(printed: string): string | null };
  /** The arguments whose help text lists every flag the preset passes (`cos doctor` checks them there). */
  helpArgs: string[];
  /** How to install the version the preset was proven with, for `cos doctor`'s advice. */
  install: string;
  /**
   * cos's MCP tools for this CLI: null when it has no MCP support. `list`: the arguments (after the binary) that
   * make the CLI list the servers it loads with a run's wiring (the wired argv), without a model call; null when
   * it has no such command, and only its flags can be checked.
   */
  mcp: { list: ((wiredArgv: string[]) => string[]) | null } | null;
  /**
   * The variables the CLI authenticates with: any one, listed in the agent's `env` and set, is enough. `login`
   * names the file a CLI's own login leaves under the agent's HOME, which works without a variable.
   */
  auth: { env: string[]; login: ((home: string, env: Record<string, string | undefined>) => string) | null; note: string };
  /** Where the CLI writes its own state for an agent with this HOME and environment. */
  statePaths(home: string, env: Record<string, string | undefined>): StatePath[];
  /** Points the CLI at cos's MCP server (and whatever else a run needs) for this run only. */
  wire(input: WiringInput): Wiring;
  /**
   * The result Markdown in the captured stdout: a CLI that prints structured output wraps it; anything it
   * cannot read comes back as is. Meant for captured stdout, not for a COS_RESULT_FILE the agent wrote.
   */
  resultText(stdout: string): string;
  /** Cost and tokens as the CLI reports them, or null. */
  usage(output: string, log: string): Usage | null;
  /** The CLI's usage limit (a plan's limit, a quota, an API's 429 it gave up on), or null when there is none. */
  usageLimit(output: string, log: string, now: Date): LimitReport | null;
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

/** The first `x.y.z` in what a CLI printed for its version. */
export function semverIn(printed: string): string | null {
  return /\b(\d+\.\d+\.\d+(?:-[\w.]+)?)\b/.exec(printed)?.[1] ?? null;
}

/** `~/x` under `home`. */
export function inHome(home: string, path: string): string {
  return `${home.replace(/\/+$/, "")}/${path}`;
}

/** A message line as a CLI printed it, trimmed to something an activity line can hold. */
export function messageLine(text: string, max = 240): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
