import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { claimRuns } from "../../src/app/runs.ts";
import { loadTask, queueTask } from "../../src/app/tasks.ts";
import { runPass } from "../../resolver/pass.ts";
import { explain } from "../../src/plan/explain.ts";
import { DEFAULT_TEST_CONFIG, runCli, tempApp } from "../helpers.ts";
import { liveAndRebuilt } from "./store-helpers.ts";

const CONFIG = {
  agents: { ...DEFAULT_TEST_CONFIG.agents, writer: { ...DEFAULT_TEST_CONFIG.agents.writer, skills: ["tone"] } },
};

describe("skills at dispatch", () => {
  let app: Awaited<ReturnType<typeof tempApp>> | null = null;
  afterEach(async () => {
    await app?.close();
    app = null;
  });
  const addSkill = (name: string, text: string) => {
    mkdirSync(join(app!.ws.dir, "skills", name), { recursive: true });
    writeFileSync(join(app!.ws.dir, "skills", name, "SKILL.md"), text);
  };

  it("holds a task whose skill is missing with one note, explains it in cos why, and dispatches it once the skill exists", async () => {
    app = await tempApp(CONFIG);
    const { ctx } = app;
    await expect(queueTask(ctx, { title: "Post", type: "content", agent: "writer", skills: ["seo"] }, "cli")).rejects.toThrow(
      `skill "seo" has no ${join(app.ws.dir, "skills", "seo", "SKILL.md")} (cos skills lists the skills there are)`,
    );
    addSkill("seo", "---\ndescription: Titles that rank\n---\nPut the keyword first.\n");
    const id = await queueTask(ctx, { title: "Post", type: "content", agent: "writer", skills: ["seo"] }, "cli");

    // The agent's own skill "tone" is missing: no dispatch, one note however many passes run.
    for (let pass = 0; pass < 3; pass++) {
      const report = await runPass(ctx);
      expect(report.dispatched).toEqual([]);
      expect(report.holds).toEqual([expect.objectContaining({ taskId: id, code: "missing_skill", skills: ["tone"] })]);
    }
    const held = (await loadTask(ctx, id)).state;
    const notes = held.activity.filter((a) => a.text.startsWith("held: skill"));
    expect(notes.map((n) => n.text)).toEqual([
      `held: skill "tone" (no ${join(app.ws.dir, "skills", "tone", "SKILL.md")}; agent writer names it in cos.config.json) is missing; add the SKILL.md and the next pass dispatches the task`,
    ]);
    expect(await explain(ctx, id)).toMatchObject({ code: "missing_skill", text: `#${id}: ${notes[0]!.text}` });

    addSkill("tone", "Warm and direct.");
    expect((await runPass(ctx)).dispatched.map((d) => d.taskId)).toEqual([id]);
    const [run] = await claimRuns(ctx, { runner: "r1", slots: 1 });
    expect(run!.prompt).toContain("## Skill: tone\n\nWarm and direct.");
    expect(run!.prompt).toContain("## Skill: seo\n\nPut the keyword first.");
    expect(run!.prompt.indexOf("Skill: tone")).toBeLessThan(run!.prompt.indexOf("Skill: seo"));

    const { live, rebuilt, rebuiltInWorker } = await liveAndRebuilt(ctx.db);
    expect(rebuilt).toEqual(live);
    expect(rebuiltInWorker).toEqual(live);
    expect(live.task_skills).toEqual([`${id}|'seo'`]);
  });

  it("cos task add takes --skill, and cos skills lists the folder", async () => {
    app = await tempApp(CONFIG);
    addSkill("seo", "---\ndescription: Titles that rank\n---\nbody");
    addSkill("tone", "Warm.");
    const env = app.ws.env;
    const added = await runCli(["task", "add", "Post", "--type", "content", "--agent", "writer", "--skill", "seo", "--json"], { env, cwd: app.ws.dir });
    expect(added).toMatchObject({ code: 0 });
    const id = JSON.parse(added.stdout).id as number;
    expect((await loadTask(app.ctx, id)).state.skills).toEqual(["seo"]);
    const missing = await runCli(["task", "add", "Post", "--type", "content", "--agent", "writer", "--skill", "seo,nope"], { env, cwd: app.ws.dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/skill "nope" has no .*nope\/SKILL.md/);
    const listed = await runCli(["skills"], { env, cwd: app.ws.dir });
    expect(listed.stdout.trim().split("\n")).toEqual(["seo  Titles that rank", "tone  [writer]  Warm."]);
  });
});
