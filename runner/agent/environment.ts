import { resolve } from "node:path";
import { SECRET_ENV_NAMES } from "../../src/config/env.ts";
import { ValidationError } from "../../src/shared/errors.ts";

// The environment an agent runs with (DESIGN §7): an allowlist, never the runner's own environment, so bot
// tokens, signing secrets and the store's auth token cannot reach an agent even when configured by mistake.

export interface AgentEnvironmentSpec {
  taskId: number;
  attempt: number;
  /** The agent's working directory, passed as COS_WORKDIR. */
  workdir: string;
  /** Names of extra variables the agent may see. */
  envAllow: string[];
  /** Where PATH, HOME, LANG and the allowed names are read from. */
  sourceEnv: Record<string, string | undefined>;
  extraEnv?: Record<string, string>;
}

/**
 * What every agent gets from the runner's environment. TZ too: a CLI prints a limit's reset in its local time
 * without naming the zone ("try again at 3:47 AM"), and the runner reads it in its own.
 */
export const BASE_ENV_NAMES = ["PATH", "HOME", "LANG", "TZ"] as const;
const SECRET_NAMES = new Set<string>(SECRET_ENV_NAMES.map((name) => name.toUpperCase()));
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The whole environment an agent gets: PATH, HOME, LANG, TZ and the allowed names (when set in `sourceEnv`), the
 * extra variables, and the COS_* protocol variables, which nothing can override.
 */
export function agentEnvironment(spec: AgentEnvironmentSpec, files: { promptFile: string; resultFile: string }): Record<string, string> {
  const env = allowlisted(spec);
  for (const name of Object.keys(spec.extraEnv ?? {})) refuseSecret(name, "agent extra env");
  Object.assign(env, spec.extraEnv);
  env.COS_TASK_ID = String(spec.taskId);
  env.COS_ATTEMPT = String(spec.attempt);
  env.COS_PROMPT_FILE = files.promptFile;
  env.COS_RESULT_FILE = files.resultFile;
  env.COS_WORKDIR = resolve(spec.workdir);
  return env;
}

/**
 * A check's environment (DESIGN §14): the agent's rules, its allowlist and nothing else of the runner's, but none
 * of the run's wiring (its MCP token, its prompt and result files), which belong to the agent's run alone; and
 * `CI=true`, as checks are what a CI service would run.
 */
export function checkEnvironment(spec: Omit<AgentEnvironmentSpec, "extraEnv">): Record<string, string> {
  const env = allowlisted(spec);
  env.CI = "true";
  env.COS_TASK_ID = String(spec.taskId);
  env.COS_ATTEMPT = String(spec.attempt);
  env.COS_WORKDIR = resolve(spec.workdir);
  return env;
}

function allowlisted(spec: Omit<AgentEnvironmentSpec, "extraEnv">): Record<string, string> {
  for (const name of spec.envAllow) refuseSecret(name, "agent env");
  const env: Record<string, string> = {};
  for (const name of [...BASE_ENV_NAMES, ...spec.envAllow]) {
    const value = spec.sourceEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function refuseSecret(name: string, where: string): void {
  if (!ENV_NAME.test(name)) throw new ValidationError(`${where}: "${name}" is not an environment variable name`);
  if (SECRET_NAMES.has(name.toUpperCase())) {
    throw new ValidationError(`${where}: ${name} is a ChiefOfStaff secret and never reaches an agent (DESIGN §7)`);
  }
}
