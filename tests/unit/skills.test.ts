import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listSkills, renderSkills } from "../../src/app/skills.ts";
import { buildDispatchPrompt, type PromptInput } from "../../src/prompt/build.ts";
import { describeMissingSkills, frontMatter, missingSkills, readSkill, skillsOf } from "../../src/prompt/skills.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { givenNight, task } from "./plan-fixtures.ts";

let dir: string;
const agents = (skills: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(skills).map(([name, list]) => [name, { skills: list }])) as never;
const write = (name: string, text: string) => {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, "SKILL.md"), text);
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cos-skills-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("SKILL.md files", () => {
  it("reads a skill without its front matter, keeping the description", () => {
    write("seo", "---\nname: seo\ndescription: \"Titles that rank\"\n---\n# SEO\n\nPut the keyword first.\n");
    expect(readSkill(dir, "seo")).toEqual({ name: "seo", description: "Titles that rank", text: "# SEO\n\nPut the keyword first." });
  });

  it("uses the description when the body is empty, and reads a file without front matter whole", () => {
    write("short", "---\ndescription: Be brief.\n---\n");
    write("plain", "Use short sentences.\n");
    expect(readSkill(dir, "short").text).toBe("Be brief.");
    expect(readSkill(dir, "plain")).toMatchObject({ description: null, text: "Use short sentences." });
    expect(frontMatter("---\nnot closed\n").meta).toEqual({});
  });

  it("refuses a missing skill with the path it looked for, instead of leaving it out", () => {
    expect(() => readSkill(dir, "ghost")).toThrow(ValidationError);
    expect(() => readSkill(dir, "ghost")).toThrow(`skill "ghost" is missing: there is no ${join(dir, "ghost", "SKILL.md")}`);
  });

  it("a task's skills are its agent's then its own, each once", () => {
    const config = { agents: agents({ writer: ["tone", "seo"] }) };
    expect(skillsOf(config, { agent: "writer", skills: ["seo", "links"] })).toEqual(["tone", "seo", "links"]);
    expect(skillsOf(config, { agent: "writer" })).toEqual(["tone", "seo"]);
    expect(skillsOf(config, { agent: "nobody", skills: ["x"] })).toEqual(["x"]);
  });

  it("names the missing skills and where each was named, so a person knows what to add", () => {
    write("tone", "Warm.");
    const config = { agents: agents({ writer: ["tone", "seo"] }), skillsDir: dir };
    const t = { agent: "writer", skills: ["links"] };
    const missing = missingSkills(config, t);
    expect(missing).toEqual(["seo", "links"]);
    expect(describeMissingSkills(config, t, missing)).toBe(
      `held: skills "seo" (no ${join(dir, "seo", "SKILL.md")}; agent writer names it in cos.config.json), ` +
        `"links" (no ${join(dir, "links", "SKILL.md")}; the task names it) are missing; add the SKILL.md and the next pass dispatches the task`,
    );
  });

  it("lists the skills there are, who uses them, and the ones agents name that are missing", () => {
    write("seo", "---\ndescription: Titles that rank\n---\nbody");
    write("tone", "# Tone\nWarm and direct.\n");
    mkdirSync(join(dir, "empty-folder"));
    const listing = listSkills({ agents: agents({ writer: ["seo", "voice"], builder: ["seo"] }), skillsDir: dir });
    expect(listing.skills).toEqual([
      { name: "seo", path: join(dir, "seo", "SKILL.md"), description: "Titles that rank", agents: ["writer", "builder"] },
      { name: "tone", path: join(dir, "tone", "SKILL.md"), description: "Warm and direct.", agents: [] },
    ]);
    expect(listing.missing).toEqual([{ name: "voice", path: join(dir, "voice", "SKILL.md"), agents: ["writer"] }]);
    expect(renderSkills(listing)).toContain("MISSING voice: named by writer");
  });
});

describe("the resolver and missing skills", () => {
  it("holds a task whose skill is missing instead of dispatching it, and lets its neighbours go", () => {
    const planned = givenNight({
      tasks: [task(1, { missingSkills: { names: ["seo"], note: "held: skill seo is missing" } }), task(2, { agent: "writer" })],
    }).whenPlanned();
    expect(planned.holdOf(1)).toEqual({ kind: "hold", taskId: 1, code: "missing_skill", skills: ["seo"], note: "held: skill seo is missing" });
    expect(planned.dispatched()).toEqual([2]);
  });

  it("says first that a task waits for its blockers, then that a skill is missing", () => {
    const planned = givenNight({
      tasks: [task(2, { blockedBy: [1], missingSkills: { names: ["seo"], note: "held" } })],
      blockers: { 1: "running" },
    }).whenPlanned();
    expect(planned.outcomeOf(2)).toBe("blocked");
  });
});

describe("the prompt's skills section", () => {
  it("carries each skill's text under its name", () => {
    const input: PromptInput = {
      task: { id: 7, title: "Write the post", description: "", type: "content", agent: "writer", project: null, attempt: 1 },
      feedback: null,
      goal: null,
      initiative: null,
      prerequisites: [],
      siblings: [],
      skills: [{ name: "seo", text: "Put the keyword first." }],
      signals: [],
    };
    expect(buildDispatchPrompt(input).text).toContain("# Skills\n\n## Skill: seo\n\nPut the keyword first.\n");
  });
});
