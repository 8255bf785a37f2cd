import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { CHECK_NAME, ON_FAILED_CHECKS } from "../domain/task/checks.ts";
import { DEFAULT_SENSITIVE_PATHS } from "../domain/task/flags.ts";
import { ISOLATIONS, TIERS } from "../domain/task/task.ts";
import { ValidationError } from "../shared/errors.ts";
import { SECRET_ENV_NAMES } from "./env.ts";
import { z } from "./zod.ts";

const tierSchema = z.enum(TIERS);
const name = z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,39}$/i, "use letters, digits, '-' or '_' (at most 40)"));
const positive = () => z.number().check(z.positive());

/** A check (DESIGN §14): an argv run in the task's work folder after its run, no shell, like an agent's. */
const checkSchema = z.strictObject({
  name: z.string().check(z.regex(CHECK_NAME, "use letters, digits, '-' or '_' (at most 40)")),
  command: z.array(z.string()).check(z.minLength(1, 'give the check\'s argv, e.g. ["npm", "test"]'), z.refine((argv) => argv[0] !== "", "the command's first word is empty")),
  timeoutMinutes: z._default(positive(), 10),
});

const projectSchema = z.strictObject({
  repo: z.string().check(z.minLength(1)),
  mainBranch: z._default(z.string().check(z.minLength(1)), "main"),
  checks: z._default(
    z.array(checkSchema).check(
      z.refine((checks) => new Set(checks.map((c) => c.name)).size === checks.length, "two checks have the same name; give each its own"),
    ),
    [],
  ),
});

export const PRESET_NAMES = ["claude-code", "codex", "aider", "gemini"] as const;

/** `runner.sandbox` (DESIGN §12): bubblewrap when it works here, bubblewrap or refuse to start, or none on purpose. */
export const SANDBOX_SETTINGS = ["auto", "bwrap", "none"] as const;

const SECRET_NAMES = new Set(SECRET_ENV_NAMES.map((n) => n.toUpperCase()));
/** An agent's `env` may name any variable but ChiefOfStaff's own secrets (DESIGN §7). */
const agentEnvName = z.string().check(
  z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name"),
  z.refine((name) => !SECRET_NAMES.has(name.toUpperCase()), {
    error: (issue) => `${String(issue.input)} is a ChiefOfStaff secret and never reaches an agent; take it out of the agent's env`,
  }),
);

const agentSchema = z.strictObject({
  /** A preset fills in the argv and teaches the runner how that CLI reports cost and usage limits. */
  preset: z.optional(z.enum(PRESET_NAMES)),
  command: z.optional(z.array(z.string()).check(z.minLength(1, 'give the agent\'s argv, e.g. ["claude", "-p", "{prompt}"]'))),
  labels: z._default(z.array(z.string()), []),
  timeoutMinutes: z._default(positive(), 60),
  env: z._default(z.array(agentEnvName), []),
  skills: z._default(z.array(z.string()), []),
  defaultIsolation: z.optional(z.enum(ISOLATIONS)),
  /** false: the agent's sandbox gets a network of its own with only loopback (no model API, no cos MCP endpoint). */
  network: z._default(z.boolean(), true),
  /** More paths the agent's CLI keeps its state in (`~/…` or absolute), read-write in its sandbox. */
  statePaths: z._default(z.array(z.string().check(z.regex(/^(~$|~\/|\/)/, "a path starting with ~/ or /"))), []),
});

export const configSchema = z.strictObject({
  projects: z._default(z.record(name, projectSchema), {}),
  agents: z._default(z.record(name, agentSchema), {}),
  worktreeRoot: z._default(z.string().check(z.minLength(1)), "./data/worktrees"),
  review: z.prefault(
    z.strictObject({
      defaults: z._default(z.record(name, tierSchema), { code: "gate", research: "auto", content: "quick" }),
      autoApproveHours: z.prefault(
        z.strictObject({ auto: z._default(positive(), 18), quick: z._default(positive(), 32) }),
        {},
      ),
      /** What a failed check does: the task goes to review (default), or back to the queue once on its own. */
      onFailedChecks: z._default(z.enum(ON_FAILED_CHECKS), "review"),
      /** Paths whose change a card flags (`.gitignore`-like patterns): lockfiles, CI config, migrations, `.env*`. */
      sensitivePaths: z._default(z.array(z.string().check(z.minLength(1))), [...DEFAULT_SENSITIVE_PATHS]),
      /** More deleted lines than this are flagged. */
      flagDeletionsOver: z._default(z.number().check(z.int(), z.gte(0)), 200),
    }),
    {},
  ),
  resolver: z.prefault(
    z.strictObject({
      maxConcurrent: z._default(z.number().check(z.int(), z.positive()), 3),
      cooldownMinutes: z.prefault(
        z.strictObject({
          sprint: z._default(z.number().check(z.gte(0)), 10),
          idle: z._default(z.number().check(z.gte(0)), 60),
        }),
        {},
      ),
      maxAttempts: z._default(z.number().check(z.int(), z.positive()), 2),
      claimTimeoutMinutes: z._default(positive(), 2),
      leaseSeconds: z._default(z.number().check(z.int(), z.gte(10)), 120),
      /** The nightly budget: dispatches and/or reported cost since the night began. */
      budget: z.optional(
        z.strictObject({
          maxDispatches: z.optional(z.number().check(z.int(), z.positive())),
          maxCostUsd: z.optional(positive()),
          nightStartsAt: z._default(z.string().check(z.regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a time such as 18:00")), "18:00"),
        }),
      ),
    }),
    {},
  ),
  runner: z.prefault(
    z.strictObject({
      /** Slots of the runner inside `cos serve` and `cos tick --wait`; 0 turns the local runner off. */
      slots: z._default(z.number().check(z.int(), z.gte(0), z.lte(64)), 3),
      labels: z._default(z.array(z.string()), []),
      /** How agents run: in bubblewrap when it works here (auto), only in bubblewrap (bwrap), or unsandboxed (none). */
      sandbox: z._default(z.enum(SANDBOX_SETTINGS), "auto"),
      /** More paths no agent may see, beyond cos's own places and the usual credential stores (`~/…` or absolute). */
      hide: z._default(z.array(z.string().check(z.regex(/^(~$|~\/|\/)/, "a path starting with ~/ or /"))), []),
    }),
    {},
  ),
  prompt: z.prefault(z.strictObject({ budgetTokens: z._default(z.number().check(z.int(), z.gte(500)), 6000) }), {}),
  skillsDir: z._default(z.string().check(z.minLength(1)), "./skills"),
  /** The MCP tools agents call during a run: how many follow-up tasks they may queue. */
  mcp: z.prefault(
    z.strictObject({
      maxTasksPerRun: z._default(z.number().check(z.int(), z.gte(0)), 3),
      maxTasksPerNight: z._default(z.number().check(z.int(), z.gte(0)), 20),
    }),
    {},
  ),
  digest: z.prefault(
    z.strictObject({ cron: z._default(z.string(), "30 7 * * *"), timezone: z._default(z.string(), "UTC") }),
    {},
  ),
});

export type Config = z.infer<typeof configSchema>;

export const BUILTIN_TYPES = ["code", "research", "content"] as const;

export interface LoadedConfig {
  config: Config;
  /** The file it came from, or null when none exists and the defaults apply. */
  path: string | null;
}

/**
 * Reads `COS_CONFIG` or `./cos.config.json`. A missing default file means defaults; a missing named
 * file, bad JSON or a bad field stops start-up with the file and the path of the field.
 */
export function loadConfig(configPath: string | undefined, cwd = process.cwd()): LoadedConfig {
  const path = resolve(cwd, configPath ?? "cos.config.json");
  if (!existsSync(path)) {
    if (configPath) throw new ValidationError(`config file ${path} (COS_CONFIG) does not exist`);
    return { config: resolvePaths(configSchema.parse({}), cwd), path: null };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ValidationError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const result = configSchema.safeParse(raw);
  if (result.success) {
    const missing = Object.entries(result.data.agents).find(([, agent]) => !agent.command && !agent.preset);
    if (missing) {
      throw new ValidationError(
        `config file ${path}: field "agents.${missing[0]}.command": give the agent's argv, or a "preset" (${PRESET_NAMES.join(", ")})`,
      );
    }
  }
  if (!result.success) {
    let issue = result.error.issues[0]!;
    const path0 = [...issue.path];
    // A bad record key comes wrapped; the rule's own message says what a good name looks like.
    while (issue.code === "invalid_key" && issue.issues[0]) {
      issue = issue.issues[0] as typeof issue;
      path0.push(...issue.path);
    }
    const field = path0.length ? path0.join(".") : "(top level)";
    throw new ValidationError(`config file ${path}: field "${field}": ${issue.message}`);
  }
  return { config: resolvePaths(result.data, dirname(path)), path };
}

/**
 * Paths in the file mean what they say from the file's folder, wherever the command runs: the worktree
 * and skills folders, the projects' repositories, and an agent's program given as a relative path
 * (`./agents/a.sh`; a bare name such as `claude` is looked up on PATH, and arguments are passed as written).
 */
function resolvePaths(config: Config, base: string): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const program = (argv: string[]) => (/^\.\.?[\\/]/.test(argv[0]!) ? [abs(argv[0]!), ...argv.slice(1)] : argv);
  return {
    ...config,
    agents: Object.fromEntries(
      Object.entries(config.agents).map(([key, agent]) => [key, agent.command?.length ? { ...agent, command: program(agent.command) } : agent]),
    ),
    worktreeRoot: abs(config.worktreeRoot),
    skillsDir: abs(config.skillsDir),
    projects: Object.fromEntries(
      Object.entries(config.projects).map(([key, project]) => [key, { ...project, repo: abs(project.repo) }]),
    ),
  };
}

export function knownTypes(config: Config): string[] {
  return [...new Set([...BUILTIN_TYPES, ...Object.keys(config.review.defaults)])];
}

/** Refuses an agent the configuration does not name, with the names it does. */
export function checkAgent(config: Pick<Config, "agents">, agent: string): void {
  if (config.agents[agent]) return;
  const known = Object.keys(config.agents);
  throw new ValidationError(
    known.length
      ? `unknown agent "${agent}": configured agents are ${known.join(", ")}`
      : `unknown agent "${agent}": no agents are configured (add one under "agents" in cos.config.json)`,
  );
}

/** Refuses a task type that is neither built in nor configured, with the types there are. */
export function checkType(config: Config, type: string): void {
  if (knownTypes(config).includes(type)) return;
  throw new ValidationError(
    `unknown type "${type}": use one of ${knownTypes(config).join(", ")} (more types go under review.defaults in cos.config.json)`,
  );
}
