import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { Config } from "../../src/config/config.ts";
import { SECRET_ENV_NAMES } from "../../src/config/env.ts";
import { fail, ok, warn, type Check } from "../../src/doctor/check.ts";
import { BASE_ENV_NAMES } from "../agent.ts";
import { findExecutable, readCliVersion } from "../cli-version.ts";
import { MCP_SERVER_NAME, wireRun, writeWiringFiles } from "../mcp-wiring.ts";
import { agentCommand, PRESETS, provenText, versionWarning, type Preset } from "../presets.ts";

// `cos doctor` for each configured agent: its CLI is on the PATH agents get, in a version its preset was proven
// with, accepts every flag the preset passes, has its credentials (names only, never values), and loads cos's
// MCP server with the preset's wiring. The CLI runs for --version, --help and its own MCP listing only: never a
// model call, in a scratch folder that holds the wiring's files and is removed afterwards.

const RUN_TIMEOUT_MS = 30_000;

type AgentConfig = Config["agents"][string];

export async function checkAgents(config: Config, env: Record<string, string | undefined>): Promise<Check[]> {
  const all = await Promise.all(Object.entries(config.agents).map(([name, agent]) => checkAgent(name, agent, env)));
  return all.flat();
}

async function checkAgent(name: string, agent: AgentConfig, env: Record<string, string | undefined>): Promise<Check[]> {
  const subject = `agent ${name}`;
  const preset = agent.preset ? PRESETS[agent.preset] : null;
  const checks: Check[] = [...checkEnvNames(name, agent, env, preset?.auth.env ?? [])];
  const argv = agentCommand(agent);
  const binary = findExecutable(argv[0]!, env.PATH);
  if (!binary) {
    const fix = preset
      ? `install ${preset.title} (${preset.install}), or name its path as the first word of agents.${name}.command`
      : `install it, or fix agents.${name}.command`;
    return [fail(subject, `"${argv[0]}" is not on the agents' PATH (${env.PATH ?? "unset"})`, fix), ...checks];
  }
  if (!preset || !agent.preset) return [ok(subject, `${binary} (a command of its own: no version or flags to check)`), ...checks];

  const scratch = mkdtempSync(join(tmpdir(), "cos-doctor-"));
  try {
    const allowed = allowedEnv(agent, env);
    // The preset's whole wiring, with a stand-in endpoint: the flags and files a real run gets.
    const wiring = wireRun(preset, { argv, runDir: scratch, endpoint: { url: "http://127.0.0.1:9/mcp", token: "cos-doctor" }, env: allowed });
    writeWiringFiles(wiring);
    const runEnv: Record<string, string> = { ...baseEnv(env), ...allowed, ...wiring.env, COS_MCP_TOKEN: "cos-doctor" };
    const run = (args: string[]) => execa(binary, args, { env: runEnv, extendEnv: false, cwd: scratch, reject: false, timeout: RUN_TIMEOUT_MS, stdin: "ignore", all: true });

    const seen = await readCliVersion(agent.preset, binary, runEnv, scratch);
    const drift = versionWarning(agent.preset, seen.version);
    checks.unshift(
      drift
        ? warn(subject, `${binary}: ${drift}`, preset.proven ? `${preset.install} (the ${agent.preset} preset is ${provenText(preset)})` : undefined)
        : ok(subject, `${preset.title} ${seen.version} at ${binary} (${provenText(preset)})`),
    );

    const help = await run(preset.helpArgs);
    const flags = [...new Set(wiring.argv.slice(1).filter((a) => /^--?[A-Za-z]/.test(a)).map((a) => a.split("=")[0]!))];
    const unknown = flags.filter((flag) => !inHelp(String(help.all ?? ""), flag));
    checks.push(
      unknown.length
        ? fail(subject, `${preset.title} ${seen.version ?? ""} does not know ${unknown.join(", ")} (${[binary, ...preset.helpArgs].join(" ")})`.replace("  ", " "), `install the version the preset was proven with: ${preset.install}`)
        : ok(subject, `flags accepted: ${flags.join(" ")}`),
    );

    checks.push(checkAuth(name, agent, preset, allowed, env));
    checks.push(await checkMcp(subject, preset, wiring.argv, run, unknown));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return checks;
}

/** A flag as a help text lists it: `-p, --print`, `--allowedTools, --allowed-tools <tools...>`, `-c, --config <key=value>`. */
function inHelp(help: string, flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[\\s,\\[])${escaped}(?=[\\s,=\\]<.]|$)`, "m").test(help);
}

function checkAuth(name: string, agent: AgentConfig, preset: Preset, allowed: Record<string, string>, env: Record<string, string | undefined>): Check {
  const subject = `agent ${name}`;
  const present = preset.auth.env.filter((v) => allowed[v]);
  if (present.length) return ok(subject, `credentials: ${present.join(", ")} (listed in agents.${name}.env and set)`);
  const login = preset.auth.login && env.HOME ? preset.auth.login(env.HOME, env) : null;
  if (login && existsSync(login)) return ok(subject, `credentials: ${preset.title}'s own login (${login})`);
  const setNotListed = preset.auth.env.filter((v) => env[v]);
  if (setNotListed.length) {
    return fail(subject, `${setNotListed.join(", ")} ${setNotListed.length === 1 ? "is" : "are"} set, but agents.${name}.env does not list ${setNotListed.length === 1 ? "it" : "them"}, so the agent never sees ${setNotListed.length === 1 ? "it" : "them"}`, `add "${setNotListed[0]}" to agents.${name}.env`);
  }
  const listedUnset = preset.auth.env.filter((v) => agent.env.includes(v));
  const unread = agent.env.filter((v) => /_API_KEY$|_TOKEN$/.test(v) && !preset.auth.env.includes(v));
  const why = listedUnset.length
    ? `${listedUnset.join(", ")} ${listedUnset.length === 1 ? "is" : "are"} listed in agents.${name}.env but not set`
    : unread.length
      ? `agents.${name}.env lists ${unread.join(", ")}, which ${preset.title} does not read`
      : `agents.${name}.env lists none of ${preset.auth.env.join(", ")}`;
  return fail(subject, `no credentials for ${preset.title}: ${why}`, `${preset.auth.note}: list it in agents.${name}.env and set it in .env or the environment`);
}

/** cos's MCP server as the CLI loads it with the preset's wiring. */
async function checkMcp(subject: string, preset: Preset, wired: string[], run: (args: string[]) => Promise<{ all?: unknown; exitCode?: number }>, unknownFlags: string[]): Promise<Check> {
  if (!preset.mcp) return warn(subject, `MCP: ${preset.title} has no MCP support, so cos's tools (log_activity, create_task, …) are not offered to it`);
  if (unknownFlags.length) return fail(subject, "MCP: the wiring's flags are not accepted (see above)", `install ${preset.install.split(" ").at(-1)}`);
  if (!preset.mcp.list) return ok(subject, `MCP: wired per run with ${wired.filter((a) => a.startsWith("--mcp") || a.startsWith("--allowed")).join(", ")}`);
  const listed = await run(preset.mcp.list(wired));
  const text = String(listed.all ?? "");
  if (new RegExp(`(^|\\s)${MCP_SERVER_NAME}[:\\s]`, "m").test(text)) return ok(subject, `MCP: ${preset.title} loads the "${MCP_SERVER_NAME}" server from the run's wiring`);
  return fail(subject, `MCP: ${preset.title} did not load the "${MCP_SERVER_NAME}" server from the run's wiring (${text.trim().split("\n").at(-1) ?? `exit ${listed.exitCode}`})`, `install the version the preset was proven with: ${preset.install}`);
}

/** Names listed in the agent's env that are not set (credentials aside: checked on their own), or cos's own secrets (refused at run time). */
function checkEnvNames(name: string, agent: AgentConfig, env: Record<string, string | undefined>, credentials: readonly string[]): Check[] {
  const secrets = new Set(SECRET_ENV_NAMES.map((n) => n.toUpperCase()));
  const refused = agent.env.filter((v) => secrets.has(v.toUpperCase()));
  const checks: Check[] = [];
  if (refused.length) {
    checks.push(fail(`agent ${name}`, `agents.${name}.env lists ${refused.join(", ")}: cos's secrets never reach an agent, and every run is refused`, `remove ${refused.join(", ")} from agents.${name}.env`));
  }
  const unset = agent.env.filter((v) => env[v] === undefined && !refused.includes(v) && !credentials.includes(v));
  if (unset.length) checks.push(warn(`agent ${name}`, `agents.${name}.env lists ${unset.join(", ")}, not set here`, "set them in .env or the environment, or remove them"));
  return checks;
}

function allowedEnv(agent: AgentConfig, env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(agent.env.flatMap((v) => (env[v] ? [[v, env[v]!]] : [])));
}

function baseEnv(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(BASE_ENV_NAMES.flatMap((v) => (env[v] !== undefined ? [[v, env[v]!]] : [])));
}
