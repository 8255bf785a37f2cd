import { readFileSync } from "node:fs";
import type { Config } from "../config/config.ts";
import { frontMatter, skillExists, skillNames, skillPath } from "../prompt/skills.ts";

// `cos skills`: what `<skillsDir>` holds, who uses each skill, and the skills agents name that are missing.

export interface SkillListing {
  dir: string;
  skills: { name: string; path: string; description: string | null; agents: string[] }[];
  /** Named by an agent in cos.config.json, with no SKILL.md: its tasks are held until it exists. */
  missing: { name: string; path: string; agents: string[] }[];
}

export function listSkills(config: Pick<Config, "agents" | "skillsDir">): SkillListing {
  const users = new Map<string, string[]>();
  for (const [agent, { skills }] of Object.entries(config.agents)) {
    for (const name of skills) users.set(name, [...(users.get(name) ?? []), agent]);
  }
  const skills = skillNames(config.skillsDir).map((name) => {
    const path = skillPath(config.skillsDir, name);
    return { name, path, description: describe(readFileSync(path, "utf8")), agents: users.get(name) ?? [] };
  });
  const missing = [...users.entries()]
    .filter(([name]) => !skillExists(config.skillsDir, name))
    .map(([name, agents]) => ({ name, path: skillPath(config.skillsDir, name), agents }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { dir: config.skillsDir, skills, missing };
}

/** The front matter's description, else the first line of prose. */
function describe(raw: string): string | null {
  const { meta, body } = frontMatter(raw);
  if (meta.description) return meta.description;
  const line = body.split(/\r?\n/).map((l) => l.trim()).find((l) => l && !l.startsWith("#"));
  return line ? (line.length > 120 ? `${line.slice(0, 119)}…` : line) : null;
}

export function renderSkills(listing: SkillListing): string {
  const lines: string[] = [];
  if (!listing.skills.length) lines.push(`no skills in ${listing.dir} (add <name>/SKILL.md there)`);
  for (const s of listing.skills) {
    lines.push(`${s.name}${s.agents.length ? `  [${s.agents.join(", ")}]` : ""}${s.description ? `  ${s.description}` : ""}`);
  }
  for (const m of listing.missing) lines.push(`MISSING ${m.name}: named by ${m.agents.join(", ")}, no ${m.path}; their tasks are held`);
  return lines.join("\n");
}
