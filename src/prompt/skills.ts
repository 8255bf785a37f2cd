import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import { ValidationError } from "../shared/errors.ts";

// Skills are folders `<skillsDir>/<name>/SKILL.md` (the layout Claude Code's skills use). An agent names
// skills in its configuration, a task on its own; the prompt carries the text of each (DESIGN §6 item 6).

export function skillPath(dir: string, name: string): string {
  return join(dir, name, "SKILL.md");
}

export function skillExists(dir: string, name: string): boolean {
  return existsSync(skillPath(dir, name));
}

/** The skills a task's prompt carries: its agent's, then its own, each once. */
export function skillsOf(config: Pick<Config, "agents">, task: { agent: string; skills?: string[] | undefined }): string[] {
  return [...new Set([...(config.agents[task.agent]?.skills ?? []), ...(task.skills ?? [])])];
}

/** The skills of `skillsOf` that have no SKILL.md (a cache spares a pass over many tasks the same stats). */
export function missingSkills(
  config: Pick<Config, "agents" | "skillsDir">,
  task: { agent: string; skills?: string[] | undefined },
  cache: Map<string, boolean> = new Map(),
): string[] {
  return skillsOf(config, task).filter((name) => {
    let found = cache.get(name);
    if (found === undefined) cache.set(name, (found = skillExists(config.skillsDir, name)));
    return !found;
  });
}

/** A sentence a person can act on: which skills are missing, where they were looked for, what to do. */
export function describeMissingSkills(
  config: Pick<Config, "agents" | "skillsDir">,
  task: { agent: string; skills?: string[] | undefined },
  missing: string[],
): string {
  const fromAgent = config.agents[task.agent]?.skills ?? [];
  const parts = missing.map(
    (name) => `"${name}" (no ${skillPath(config.skillsDir, name)}; ${fromAgent.includes(name) ? `agent ${task.agent} names it in cos.config.json` : "the task names it"})`,
  );
  const verb = missing.length === 1 ? "is" : "are";
  return `held: skill${missing.length === 1 ? "" : "s"} ${parts.join(", ")} ${verb} missing; add the SKILL.md and the next pass dispatches the task`;
}

export interface SkillText {
  name: string;
  description: string | null;
  text: string;
}

/** A skill's text for the prompt, without its front matter. A missing skill is an error, never a blank. */
export function readSkill(dir: string, name: string): SkillText {
  const path = skillPath(dir, name);
  let raw: string;
  try {
    raw = readFileSync(path, "utf8");
  } catch {
    throw new ValidationError(`skill "${name}" is missing: there is no ${path}`);
  }
  const { meta, body } = frontMatter(raw);
  const description = meta.description ?? null;
  return { name, description, text: body.trim() || description || "" };
}

/** `---\nkey: value\n---` at the top of a SKILL.md: only flat `key: value` lines are read. */
export function frontMatter(raw: string): { meta: Record<string, string>; body: string } {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(raw);
  if (!match) return { meta: {}, body: raw };
  const meta: Record<string, string> = {};
  for (const line of match[1]!.split(/\r?\n/)) {
    const kv = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (kv) meta[kv[1]!] = kv[2]!.trim().replace(/^(["'])(.*)\1$/, "$2");
  }
  return { meta, body: raw.slice(match[0].length) };
}

/** Folder names under `dir` that hold a SKILL.md, sorted. */
export function skillNames(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  return entries.filter((name) => skillExists(dir, name)).sort();
}
