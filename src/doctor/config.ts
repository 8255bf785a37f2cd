import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { gitEnvironment, safeGitArgs } from "../shared/git-safety.ts";
import cron from "node-cron";
import type { LoadedConfig } from "../config/config.ts";
import { skillExists, skillPath } from "../prompt/skills.ts";
import { fail, ok, warn, type Check } from "./check.ts";

// The configuration beyond what its schema refuses at start: the projects are git repositories with their main
// branch, every skill an agent names exists, the digest's cron and zone make sense, there is an agent at all.

export function checkConfig({ config, path }: LoadedConfig): Check[] {
  const agents = Object.keys(config.agents);
  const projects = Object.keys(config.projects);
  const checks: Check[] = [
    path
      ? ok("config", `${path}: ${agents.length} agent${agents.length === 1 ? "" : "s"}, ${projects.length} project${projects.length === 1 ? "" : "s"}`)
      : warn("config", "no cos.config.json here (nor COS_CONFIG): the defaults apply", "write one (README: A two-minute tour)"),
  ];
  if (!agents.length) checks.push(warn("config", "no agents are configured: nothing can run a task", 'add one under "agents", e.g. { "builder": { "preset": "claude-code", "env": ["ANTHROPIC_API_KEY"] } }'));
  for (const [name, project] of Object.entries(config.projects)) checks.push(checkProject(name, project.repo, project.mainBranch));
  for (const [name, agent] of Object.entries(config.agents)) {
    const missing = agent.skills.filter((skill) => !skillExists(config.skillsDir, skill));
    if (missing.length) {
      checks.push(
        fail(
          `agent ${name}`,
          `names skill${missing.length === 1 ? "" : "s"} ${missing.map((s) => `"${s}"`).join(", ")} with no ${missing.map((s) => skillPath(config.skillsDir, s)).join(", ")}: its tasks are held`,
          "add the SKILL.md, or remove the name from the agent's skills",
        ),
      );
    }
  }
  if (!cron.validate(config.digest.cron)) {
    checks.push(fail("config", `digest.cron "${config.digest.cron}" is not a cron expression: cos serve refuses to start a chat platform`, 'write it like "30 7 * * *"'));
  }
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: config.digest.timezone });
  } catch {
    checks.push(fail("config", `digest.timezone "${config.digest.timezone}" is not a time zone`, 'use an IANA name such as "Europe/Berlin" or "UTC"'));
  }
  return checks;
}

function checkProject(name: string, repo: string, mainBranch: string): Check {
  const subject = `project ${name}`;
  if (!existsSync(repo)) return fail(subject, `${repo} does not exist`, `fix projects.${name}.repo (relative paths are relative to the config file)`);
  const git = (...args: string[]) => execFileSync("git", safeGitArgs(args), { cwd: repo, env: gitEnvironment(), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    git("rev-parse", "--git-dir");
  } catch {
    return fail(subject, `${repo} is not a git repository`, `run git init there, or point projects.${name}.repo at the repository`);
  }
  try {
    git("rev-parse", "--verify", "--quiet", `refs/heads/${mainBranch}`);
  } catch {
    return fail(subject, `${repo} has no branch ${mainBranch}`, `set projects.${name}.mainBranch to the branch results merge into, or create it`);
  }
  return ok(subject, `${repo} (main branch ${mainBranch})`);
}
