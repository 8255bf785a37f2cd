import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { finishWorkspace, prepareWorkspace, type PreparedWorkspace } from "../../runner/workspace.ts";
import { keepTask } from "../../runner/workspace/discard.ts";
import { guardRun } from "../../runner/workspace/guard.ts";
import { mergeBranch, removeTaskWorkspace } from "../../runner/workspace/merge.ts";
import { runCli } from "../helpers.ts";
import { git, gitSandbox } from "./git-kit.ts";

// The run guard (runner/workspace/guard.ts): after a run, every ref but the task's own branch must be as cos left
// it, and the git dir's config, hooks and info as they were. While a run goes on, cos itself merges other tasks,
// makes and deletes their branches and keeps discarded commits, and other tasks' agents commit on their own
// branches: none of that may be taken for the run's doing, and what the run did is put back to what cos set last.

describe("the run guard", () => {
  const box = () => gitSandbox("cos-guard-", { "a.txt": "one\n" });
  type Box = ReturnType<typeof box>;
  const prepare = (b: Box, id: number) =>
    prepareWorkspace({ taskId: id, isolation: "worktree", project: b.project, worktreeRoot: b.worktreeRoot, scratchRoot: b.scratchRoot });
  const work = async (ws: PreparedWorkspace, file: string) => {
    writeFileSync(join(ws.dir, file), `${file}\n`);
    return finishWorkspace(ws, `work on ${file}`);
  };

  it("takes nothing cos or another task's run did meanwhile for the run's own doing", async () => {
    const b = box();
    const c = await prepare(b, 3);
    await work(c, "c.txt");
    const d = await prepare(b, 4);
    await work(d, "d.txt");

    const a = await prepare(b, 1);
    const guardA = (await guardRun(a, 1, 1))!;
    // Meanwhile: task 2 is prepared and runs (its agent commits on its branch), task 3 is approved, task 4 discarded.
    const other = await prepare(b, 2);
    const guardB = (await guardRun(other, 2, 1))!;
    writeFileSync(join(other.dir, "b.txt"), "bee\n");
    git(other.dir, "add", "b.txt");
    git(other.dir, "commit", "-q", "-m", "task 2's agent commits");
    const merged = await mergeBranch(b.project, 3);
    expect(merged.merged).toBe(true);
    await removeTaskWorkspace(b.project, 3, b.worktreeRoot, "drop-kept-ref");
    await keepTask(b.project, 4);
    await removeTaskWorkspace(b.project, 4, b.worktreeRoot, "keep-ref");
    // And task 1's agent does its own work on its own branch.
    writeFileSync(join(a.dir, "a2.txt"), "own\n");
    git(a.dir, "add", "a2.txt");
    git(a.dir, "commit", "-q", "-m", "task 1's agent commits");

    expect(await guardA.check()).toEqual([]);
    expect(await guardB.check()).toEqual([]);
    guardA.release();
    guardB.release();
  });

  it("puts back what the run moved to what cos set last, keeps the moved value, and restores the git dir's files", async () => {
    const b = box();
    const c = await prepare(b, 3);
    await work(c, "c.txt");
    const a = await prepare(b, 1);
    const guard = (await guardRun(a, 1, 1))!;
    const afterMerge = (await mergeBranch(b.project, 3)) as { merged: true; commit: string };
    const config = readFileSync(join(b.repo, ".git", "config"), "utf8");

    // The agent: its commit, main moved to it, a tag, another task's kept commits deleted, a hook and config written.
    writeFileSync(join(a.dir, "x.txt"), "x\n");
    git(a.dir, "add", "x.txt");
    git(a.dir, "commit", "-q", "-m", "agent");
    const agentCommit = git(a.dir, "rev-parse", "HEAD");
    git(a.dir, "update-ref", "refs/heads/main", agentCommit);
    git(a.dir, "tag", "planted");
    git(b.repo, "config", "core.fsmonitor", "touch /tmp/pwned");
    mkdirSync(join(b.repo, ".git", "hooks"), { recursive: true });
    writeFileSync(join(b.repo, ".git", "hooks", "post-merge"), "#!/bin/sh\ntouch /tmp/pwned\n", { mode: 0o755 });

    const problems = await guard.check();
    expect(problems).toEqual([
      `changed ${join(b.repo, ".git", "config")} (put back)`,
      `added ${join(b.repo, ".git", "hooks", "post-merge")} (removed)`,
      `moved refs/heads/main from ${afterMerge.commit.slice(0, 12)} to ${agentCommit.slice(0, 12)}, put back; its commits are kept at refs/cos/moved/1-1/heads/main`,
      `created refs/tags/planted at ${agentCommit.slice(0, 12)}, put back; its commits are kept at refs/cos/moved/1-1/tags/planted`,
    ]);
    // Main is where the approval of task 3 left it, not where it was when the run began.
    expect(git(b.repo, "rev-parse", "main")).toBe(afterMerge.commit);
    expect(git(b.repo, "rev-parse", "refs/cos/moved/1-1/heads/main")).toBe(agentCommit);
    expect(git(b.repo, "tag", "--list")).toBe("");
    expect(readFileSync(join(b.repo, ".git", "config"), "utf8")).toBe(config);
    guard.release();
    // A run after it takes the kept refs and the put-back main as cos's.
    const next = await prepare(b, 5);
    const guard5 = (await guardRun(next, 5, 1))!;
    expect(await guard5.check()).toEqual([]);
    guard5.release();
  });

  it("through cos tick --wait: a direct run that leaves its work uncommitted reaches review; one that commits on main is put back, its work left in the checkout", async () => {
    const b = box();
    const config = {
      projects: { site: { repo: b.repo } },
      agents: {
        tidy: { command: ["sh", "-c", "echo tidied > tidy.txt && echo '## Summary' && echo tidied"], defaultIsolation: "direct" },
        pushy: { command: ["sh", "-c", "echo pushed > pushy.txt && git add pushy.txt && git -c user.name=A -c user.email=a@example.com commit -q -m pushy"], defaultIsolation: "direct" },
      },
      worktreeRoot: join(b.dir, "data", "worktrees"),
    };
    writeFileSync(join(b.dir, "cos.config.json"), JSON.stringify(config));
    const env = { COS_CONFIG: join(b.dir, "cos.config.json"), COS_DB_URL: `file:${join(b.dir, "data", "cos.db")}` };
    const cos = (...args: string[]) => runCli(args, { env, cwd: b.dir });
    const main = git(b.repo, "rev-parse", "main");

    expect((await cos("task", "add", "Tidy up", "--type", "research", "--agent", "tidy", "--project", "site")).code).toBe(0);
    const first = await cos("tick", "--wait", "--json");
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).results[0]).toMatchObject({ status: "review", summary: "tidied" });
    expect(git(b.repo, "status", "--porcelain")).toBe("?? tidy.txt");

    expect((await cos("task", "add", "Push it", "--type", "research", "--agent", "pushy", "--project", "site")).code).toBe(0);
    const second = await cos("tick", "--wait", "--json");
    expect(JSON.parse(second.stdout).results[0]).toMatchObject({ status: "failed" });
    const shown = JSON.parse((await cos("task", "show", "2", "--json")).stdout);
    expect(shown.activity.map((a: { text: string }) => a.text).join("\n")).toMatch(/moved refs\/heads\/main from .* put back/);
    expect(git(b.repo, "rev-parse", "main")).toBe(main);
    expect(git(b.repo, "rev-parse", "refs/cos/moved/2-1/heads/main")).not.toBe(main);
    // Its work is not lost: staged in the checkout, as it was committed.
    expect(git(b.repo, "status", "--porcelain").split("\n").sort()).toEqual(["?? tidy.txt", "A  pushy.txt"]);
  }, 60_000);
});
