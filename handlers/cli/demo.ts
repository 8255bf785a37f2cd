import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDigest, digestText } from "../../src/app/digest.ts";
import { createGoal, createInitiative } from "../../src/app/goals.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { decideReview } from "../../src/app/review.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { trustTable } from "../../src/app/trust.ts";
import { listTasks, showTask } from "../../src/app/views.ts";
import { parseEnv } from "../../src/config/env.ts";
import { gitEnvironment, safeGitArgs } from "../../src/shared/git-safety.ts";
import { packageRoot } from "../../src/shared/paths.ts";
import { runPass } from "../../resolver/pass.ts";
import type { CliIo } from "./io.ts";
import { localRunner, runnerSandbox, runProgress } from "./local-runner.ts";
import { renderTrust } from "./render.ts";

const NIGHT_STARTS = "2026-11-23T22:00:00.000Z";

/**
 * `cos demo`: a scripted night on a scratch git repository, with the deterministic demo agent that
 * ships in runner/: four dependent tasks run in worktrees, one is sent back with notes and redone,
 * approvals merge into main, and the trust table and the morning digest close the night.
 */
export async function runDemo(io: CliIo, options: { keep: boolean; json: boolean }): Promise<number> {
  const { keep, json } = options;
  const dir = mkdtempSync(join(tmpdir(), "cos-demo-"));
  const repo = join(dir, "site");
  const env = gitEnvironment(gitEnv(), { PATH: io.env.PATH, HOME: io.env.HOME, LANG: io.env.LANG });
  const git = (...args: string[]) => execFileSync("git", safeGitArgs(args), { cwd: repo, encoding: "utf8", env }).trim();
  execFileSync("git", safeGitArgs(["init", "-q", "-b", "main", repo]), { env });
  writeFileSync(join(repo, "README.md"), "# site\n");
  git("add", "-A");
  git("commit", "-q", "-m", "Initial commit");

  const agent = { command: [process.execPath, join(packageRoot(), "runner", "demo-agent.mjs")], timeoutMinutes: 5 };
  writeFileSync(
    join(dir, "cos.config.json"),
    JSON.stringify(
      {
        projects: { site: { repo: "./site", mainBranch: "main" } },
        agents: { builder: agent, designer: agent, writer: agent },
        worktreeRoot: "./data/worktrees",
        runner: { slots: 3 },
      },
      null,
      2,
    ),
  );
  let now = Date.parse(NIGHT_STARTS);
  const ctx = await openApp({
    env: parseEnv({ PATH: io.env.PATH, COS_DB_URL: `file:${join(dir, "data", "cos.db")}`, COS_CONFIG: join(dir, "cos.config.json") }),
    cwd: dir,
    clock: () => new Date(now),
    workspace: gitWorkspace,
  });
  // With --json the night's steps are progress on a terminal only, and stdout gets one JSON document.
  const print = json ? (_text: string) => {} : (text: string) => io.out(text);
  const say = (text: string) => {
    const line = `${new Date(now).toISOString().slice(11, 16)}  ${text}`;
    if (json) io.progress?.(line);
    else io.out(line);
  };
  try {
    print(`cos demo: a night on a scratch repo in ${dir}\n`);
    const goal = await createGoal(ctx, { title: "Launch the blog", success: "the first post is live" }, "cli");
    const initiative = await createInitiative(ctx, { title: "Site v1", goalId: goal, success: "a styled site with a blog" }, "cli");
    // Every task works in its own worktree, so each result reaches main only by an approval's merge.
    const add = (title: string, agentName: string, type: string, after: number[], area: string) =>
      queueTask(
        ctx,
        { title, type, agent: agentName, goalId: goal, initiativeId: initiative, blockedBy: after, area, project: "site", isolation: "worktree" },
        "cli",
      );
    const scaffold = await add("Scaffold the site", "builder", "code", [], "site");
    const design = await add("Design system", "designer", "code", [scaffold], "styles");
    const engine = await add("Blog engine", "builder", "code", [scaffold], "blog");
    const post = await add("First post", "writer", "content", [design, engine], "posts");
    say(`queued #${scaffold} scaffold → #${design} design system, #${engine} blog engine → #${post} first post`);

    const sandbox = await runnerSandbox(ctx.config, ctx.env, { ...io, cwd: dir }, ctx.configPath);
    const runner = localRunner(ctx, { ...io, out: () => {}, err: () => {} }, "demo", 3, { sandbox, events: runProgress((line) => say(`  ${line}`)) });
    for (let round = 0; round < 12; round++) {
      const pass = await runPass(ctx);
      for (const d of pass.dispatched) say(`dispatched #${d.taskId} (attempt ${d.attempt}, tier ${d.tier}, ${d.isolation})`);
      if (pass.dispatched.length) {
        await runner.poll(pass.dispatched.map((d) => d.taskId));
        await runner.idle();
      }
      for (const { id } of await listTasks(ctx, "review")) {
        const task = await showTask(ctx, id);
        say(`#${id} ${task.title}: ${task.result?.summary}`);
        now += 5 * 60_000;
        if (id === design && task.attempt === 1) {
          const notes = "Use rem units instead of px, and add a dark theme.";
          await decideReview(ctx, id, "sent_back", notes, "user:demo");
          say(`  sent back: "${notes}"`);
        } else {
          await decideReview(ctx, id, "approved", null, "user:demo");
          say(`  approved${task.isolation === "worktree" ? `, merged cos/task-${id} into main` : ""}`);
        }
      }
      if (!(await listTasks(ctx, "open")).length) break;
      now += 15 * 60_000; // past the sprint cooldown
    }
    await runner.stop();
    io.progress?.(null);

    const mainLog = git("log", "--oneline", "--first-parent", "main");
    const files = git("ls-tree", "-r", "--name-only", "main").split("\n");
    const trust = await trustTable(ctx);
    now = Date.parse("2026-11-24T07:30:00.000Z");
    const digest = await buildDigest(ctx, NIGHT_STARTS);
    if (json) {
      const tasks = (await listTasks(ctx, "all")).map(({ id, title, agent, type, status, attempt }) => ({ id, title, agent, type, status, attempt }));
      io.out(JSON.stringify({ folder: keep ? dir : null, tasks, main: { commits: mainLog.split("\n"), files }, trust, digest }, null, 2));
      return 0;
    }
    print("\nmain after the night:");
    print(mainLog.replace(/^/gm, "  "));
    print(`  files: ${files.join(", ")}`);
    print("\nTrust:");
    print(renderTrust(trust).replace(/^/gm, "  "));
    print("");
    print(digestText(digest));
    return 0;
  } finally {
    io.progress?.(null);
    await ctx.db.close();
    if (keep) print(`\nkept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function gitEnv(): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: "ChiefOfStaff demo",
    GIT_AUTHOR_EMAIL: "demo@localhost",
    GIT_COMMITTER_NAME: "ChiefOfStaff demo",
    GIT_COMMITTER_EMAIL: "demo@localhost",
    GIT_TERMINAL_PROMPT: "0",
  };
}
