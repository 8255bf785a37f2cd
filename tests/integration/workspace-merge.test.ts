import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  collectGarbage,
  discardTask,
  finishWorkspace,
  mergeTask,
  prepareWorkspace,
  removeWorktree,
  type ProjectRef,
} from "../../runner/workspace.ts";
import { git, gitSandbox } from "./git-kit.ts";

function gitOk(cwd: string, ...args: string[]): boolean {
  try {
    git(cwd, ...args);
    return true;
  } catch {
    return false;
  }
}

interface Sandbox {
  dir: string;
  repo: string;
  project: ProjectRef;
  worktreeRoot: string;
  /** Prepares task `id`'s worktree, writes `files` into it and finishes it; returns the branch tip. */
  work(id: number, files: Record<string, string>): Promise<string>;
  commitOnMain(files: Record<string, string>): string;
}

function sandbox(): Sandbox {
  const box = gitSandbox("cos-merge-", { "a.txt": "one\ntwo\nthree\n", "b.txt": "bee\n" });
  const { repo, project, worktreeRoot, scratchRoot } = box;
  return {
    ...box,
    work: async (id, files) => {
      const ws = await prepareWorkspace({ taskId: id, isolation: "worktree", project, worktreeRoot, scratchRoot });
      for (const [name, content] of Object.entries(files)) writeFileSync(join(ws.dir, name), content);
      await finishWorkspace(ws, `Task #${id}`);
      return git(repo, "rev-parse", `cos/task-${id}`);
    },
    commitOnMain: (files) => {
      for (const [name, content] of Object.entries(files)) writeFileSync(join(repo, name), content);
      git(repo, "add", ".");
      git(repo, "commit", "-q", "-m", "main moves");
      return git(repo, "rev-parse", "main");
    },
  };
}

function taskBranches(repo: string): string[] {
  return git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/cos/").split("\n").filter(Boolean).sort();
}

function worktreeCount(repo: string): number {
  return git(repo, "worktree", "list", "--porcelain").match(/^worktree /gm)?.length ?? 0;
}

describe("approving: merging a task branch into main", () => {
  it("merges into the checked-out main with a merge commit, then removes worktree and branch", async () => {
    const box = sandbox();
    const before = git(box.repo, "rev-parse", "main");
    const tip = await box.work(1, { "a.txt": "one\ntwo\nthree\nfour\n" });
    writeFileSync(join(box.repo, "untracked-notes.txt"), "mine\n"); // untracked files do not block a merge

    const outcome = await mergeTask(box.project, 1, box.worktreeRoot);
    expect(outcome).toEqual({ merged: true, commit: git(box.repo, "rev-parse", "main") });
    expect(git(box.repo, "rev-parse", "main^1", "main^2").split("\n")).toEqual([before, tip]);
    expect(readFileSync(join(box.repo, "a.txt"), "utf8")).toBe("one\ntwo\nthree\nfour\n");
    expect(git(box.repo, "status", "--porcelain", "--untracked-files=no")).toBe("");
    expect(existsSync(join(box.worktreeRoot, "1"))).toBe(false);
    expect(taskBranches(box.repo)).toEqual([]);
    expect(worktreeCount(box.repo)).toBe(1);
  });

  it("merges alongside changes main gained meanwhile", async () => {
    const box = sandbox();
    const tip = await box.work(2, { "c.txt": "sea\n" });
    const moved = box.commitOnMain({ "b.txt": "bee\nbuzz\n" });

    const outcome = await mergeTask(box.project, 2, box.worktreeRoot);
    expect(outcome.merged).toBe(true);
    expect(git(box.repo, "rev-parse", "HEAD^1", "HEAD^2").split("\n")).toEqual([moved, tip]);
    expect(readFileSync(join(box.repo, "c.txt"), "utf8")).toBe("sea\n");
    expect(readFileSync(join(box.repo, "b.txt"), "utf8")).toBe("bee\nbuzz\n");
  });

  it("refuses a conflicting merge, names the files, and leaves main and the task as they were", async () => {
    const box = sandbox();
    await box.work(3, { "a.txt": "ONE\ntwo\nthree\n", "b.txt": "task bee\n", "c.txt": "no conflict\n" });
    const moved = box.commitOnMain({ "a.txt": "uno\ntwo\nthree\n", "b.txt": "main bee\n" });

    const outcome = await mergeTask(box.project, 3, box.worktreeRoot);
    expect(outcome).toMatchObject({ merged: false, conflicts: ["a.txt", "b.txt"] });
    expect(outcome.merged === false && outcome.message).toMatch(/a\.txt, b\.txt.*send it back/);
    expect(git(box.repo, "rev-parse", "main")).toBe(moved);
    expect(gitOk(box.repo, "rev-parse", "--verify", "--quiet", "MERGE_HEAD")).toBe(false);
    expect(git(box.repo, "status", "--porcelain")).toBe("");
    expect(readFileSync(join(box.repo, "a.txt"), "utf8")).toBe("uno\ntwo\nthree\n");
    expect(taskBranches(box.repo)).toEqual(["cos/task-3"]);
    expect(existsSync(join(box.worktreeRoot, "3", "c.txt"))).toBe(true);
  });

  it("refuses while the main checkout has uncommitted changes, touching nothing", async () => {
    const box = sandbox();
    const tip = await box.work(4, { "c.txt": "sea\n" });
    const before = git(box.repo, "rev-parse", "main");
    writeFileSync(join(box.repo, "b.txt"), "half-done edit\n");

    const outcome = await mergeTask(box.project, 4, box.worktreeRoot);
    expect(outcome).toMatchObject({ merged: false, conflicts: [] });
    expect(outcome.merged === false && outcome.message).toMatch(/b\.txt.*commit or stash/);
    expect(git(box.repo, "rev-parse", "main")).toBe(before);
    expect(readFileSync(join(box.repo, "b.txt"), "utf8")).toBe("half-done edit\n");
    expect(existsSync(join(box.repo, "c.txt"))).toBe(false);
    expect(git(box.repo, "rev-parse", "cos/task-4")).toBe(tip);
    expect(existsSync(join(box.worktreeRoot, "4"))).toBe(true);
  });

  it("forgets a merge state git left after committing (its process killed before it tidied up), and merges the next task", async () => {
    const box = sandbox();
    const first = await box.work(21, { "c.txt": "sea\n" });
    await mergeTask(box.project, 21, box.worktreeRoot);
    // What a git merge killed between moving main and removing MERGE_HEAD leaves: MERGE_HEAD already in main.
    writeFileSync(join(box.repo, ".git", "MERGE_HEAD"), `${first}\n`);
    writeFileSync(join(box.repo, ".git", "MERGE_MSG"), "Merge task #21\n");
    const second = await box.work(22, { "d.txt": "dee\n" });

    const outcome = await mergeTask(box.project, 22, box.worktreeRoot);
    expect(outcome).toEqual({ merged: true, commit: git(box.repo, "rev-parse", "main") });
    expect(git(box.repo, "rev-parse", "main^2")).toBe(second);
    expect(gitOk(box.repo, "rev-parse", "--verify", "--quiet", "MERGE_HEAD")).toBe(false);
    expect(git(box.repo, "status", "--porcelain", "--untracked-files=no")).toBe("");
  });

  it("refuses while a person's own merge is in progress in the main checkout, and leaves it as it is", async () => {
    const box = sandbox();
    await box.work(23, { "c.txt": "sea\n" });
    git(box.repo, "checkout", "-q", "-b", "theirs");
    writeFileSync(join(box.repo, "a.txt"), "THEIRS\n");
    git(box.repo, "commit", "-qam", "theirs");
    git(box.repo, "checkout", "-q", "main");
    box.commitOnMain({ "a.txt": "OURS\n" });
    expect(gitOk(box.repo, "merge", "-q", "theirs")).toBe(false); // a conflict: the person's merge is under way
    const merging = git(box.repo, "rev-parse", "MERGE_HEAD");

    const outcome = await mergeTask(box.project, 23, box.worktreeRoot);
    expect(outcome).toMatchObject({ merged: false, conflicts: [] });
    expect(outcome.merged === false && outcome.message).toMatch(/a merge is already in progress/);
    expect(git(box.repo, "rev-parse", "MERGE_HEAD")).toBe(merging);
  });

  it("refuses when untracked files in the main checkout would be overwritten, with no merge left behind", async () => {
    const box = sandbox();
    await box.work(15, { "c.txt": "from the task\n" });
    const before = git(box.repo, "rev-parse", "main");
    writeFileSync(join(box.repo, "c.txt"), "someone's own file\n");

    const outcome = await mergeTask(box.project, 15, box.worktreeRoot);
    expect(outcome).toMatchObject({ merged: false, conflicts: [] });
    expect(outcome.merged === false && outcome.message).toMatch(/untracked working tree files would be overwritten[\s\S]*c\.txt/);
    expect(git(box.repo, "rev-parse", "main")).toBe(before);
    expect(gitOk(box.repo, "rev-parse", "--verify", "--quiet", "MERGE_HEAD")).toBe(false);
    expect(readFileSync(join(box.repo, "c.txt"), "utf8")).toBe("someone's own file\n");
    expect(taskBranches(box.repo)).toEqual(["cos/task-15"]);
  });

  it("merges through merge-tree when main is not checked out, leaving the checkout's files alone", async () => {
    const box = sandbox();
    const before = git(box.repo, "rev-parse", "main");
    const tip = await box.work(5, { "c.txt": "sea\n" });
    git(box.repo, "checkout", "-q", "-b", "side");
    writeFileSync(join(box.repo, "b.txt"), "side edit, uncommitted\n");

    const outcome = await mergeTask(box.project, 5, box.worktreeRoot);
    expect(outcome).toEqual({ merged: true, commit: git(box.repo, "rev-parse", "main") });
    expect(git(box.repo, "rev-parse", "main^1", "main^2").split("\n")).toEqual([before, tip]);
    expect(git(box.repo, "show", "main:c.txt")).toBe("sea");
    expect(git(box.repo, "log", "-1", "--format=%an|%s", "main")).toBe("ChiefOfStaff|Merge task #5 (cos/task-5)");
    expect(git(box.repo, "symbolic-ref", "--short", "HEAD")).toBe("side");
    expect(existsSync(join(box.repo, "c.txt"))).toBe(false);
    expect(readFileSync(join(box.repo, "b.txt"), "utf8")).toBe("side edit, uncommitted\n");
    expect(taskBranches(box.repo)).toEqual([]);
  });

  it("refuses a conflict found by merge-tree without moving main", async () => {
    const box = sandbox();
    await box.work(6, { "a.txt": "ONE\ntwo\nthree\n" });
    const moved = box.commitOnMain({ "a.txt": "uno\ntwo\nthree\n" });
    git(box.repo, "checkout", "-q", "--detach");

    const outcome = await mergeTask(box.project, 6, box.worktreeRoot);
    expect(outcome).toMatchObject({ merged: false, conflicts: ["a.txt"] });
    expect(git(box.repo, "rev-parse", "main")).toBe(moved);
    expect(taskBranches(box.repo)).toEqual(["cos/task-6"]);
  });
});

describe("discarding and removing", () => {
  it("keeps the commits under refs/cos/discarded/<id> and removes the worktree and branch", async () => {
    const box = sandbox();
    const tip = await box.work(7, { "c.txt": "sea\n" });
    const main = git(box.repo, "rev-parse", "main");

    expect(await discardTask(box.project, 7, box.worktreeRoot)).toEqual({ keptRef: "refs/cos/discarded/7" });
    expect(git(box.repo, "rev-parse", "refs/cos/discarded/7")).toBe(tip);
    expect(taskBranches(box.repo)).toEqual([]);
    expect(existsSync(join(box.worktreeRoot, "7"))).toBe(false);
    expect(worktreeCount(box.repo)).toBe(1);
    expect(git(box.repo, "rev-parse", "main")).toBe(main);
  });

  it("keeps no ref when the branch has nothing beyond main", async () => {
    const box = sandbox();
    await box.work(8, {});
    expect(await discardTask(box.project, 8, box.worktreeRoot)).toEqual({ keptRef: null });
    expect(gitOk(box.repo, "rev-parse", "--verify", "--quiet", "refs/cos/discarded/8")).toBe(false);
    expect(taskBranches(box.repo)).toEqual([]);
  });

  it("removes only the worktree, keeping the branch", async () => {
    const box = sandbox();
    const tip = await box.work(9, { "c.txt": "sea\n" });
    await removeWorktree(box.project, 9, box.worktreeRoot);
    expect(existsSync(join(box.worktreeRoot, "9"))).toBe(false);
    expect(worktreeCount(box.repo)).toBe(1);
    expect(git(box.repo, "rev-parse", "cos/task-9")).toBe(tip);
  });
});

describe("collecting garbage", () => {
  it("reports what it would free on a dry run and frees exactly that for real", async () => {
    const box = sandbox();
    const root = box.worktreeRoot;
    await box.work(10, { "open.txt": "still under review\n" }); // open: kept
    const unmerged = await box.work(11, { "lost.txt": "never approved\n" }); // not open, unmerged work
    await box.work(12, {}); // not open, branch with nothing beyond main
    await removeWorktree(box.project, 12, root);
    await box.work(13, { "gone.txt": "folder deleted by hand\n" }); // stale registration
    rmSync(join(root, "13"), { recursive: true, force: true });
    mkdirSync(join(root, "junk"));
    writeFileSync(join(root, "junk", "left.txt"), "left behind\n");

    const keep = new Set([10]);
    const dry = await collectGarbage([box.project], root, keep, { dryRun: true });
    const byPath = (entries: { path: string; reason: string }[]) => [...entries].sort((a, b) => a.path.localeCompare(b.path));
    expect(byPath(dry.removed)).toEqual(
      byPath([
        { path: join(root, "11"), reason: "task #11 is not open; its commits are kept under refs/cos/discarded/11" },
        { path: join(root, "13"), reason: `registered in ${box.repo} but its folder is gone` },
        { path: `${box.repo} (branch cos/task-11)`, reason: "task #11 is not open; its commits are kept under refs/cos/discarded/11" },
        { path: `${box.repo} (branch cos/task-12)`, reason: "task #12 is not open" },
        { path: `${box.repo} (branch cos/task-13)`, reason: "task #13 is not open; its commits are kept under refs/cos/discarded/13" },
        { path: join(root, "junk"), reason: "not a registered worktree" },
      ]),
    );
    expect(dry.kept).toEqual([{ path: join(root, "10"), reason: "task #10 is open" }]);
    // The dry run changed nothing.
    expect(taskBranches(box.repo)).toEqual(["cos/task-10", "cos/task-11", "cos/task-12", "cos/task-13"]);
    expect(worktreeCount(box.repo)).toBe(4);
    expect(existsSync(join(root, "junk", "left.txt"))).toBe(true);
    expect(gitOk(box.repo, "rev-parse", "--verify", "--quiet", "refs/cos/discarded/11")).toBe(false);

    const real = await collectGarbage([box.project], root, keep, { dryRun: false });
    expect(byPath(real.removed)).toEqual(byPath(dry.removed));
    expect(real.kept).toEqual(dry.kept);
    expect(taskBranches(box.repo)).toEqual(["cos/task-10"]);
    expect(worktreeCount(box.repo)).toBe(2);
    expect(git(box.repo, "rev-parse", "refs/cos/discarded/11")).toBe(unmerged);
    expect(gitOk(box.repo, "rev-parse", "--verify", "--quiet", "refs/cos/discarded/12")).toBe(false);
    expect(existsSync(join(root, "11"))).toBe(false);
    expect(existsSync(join(root, "junk"))).toBe(false);
    expect(readFileSync(join(root, "10", "open.txt"), "utf8")).toBe("still under review\n");

    expect(await collectGarbage([box.project], root, keep, { dryRun: false })).toEqual({ removed: [], kept: dry.kept });
  });

  it("leaves alone a checkout of another repository inside the worktree root", async () => {
    const box = sandbox();
    const other = join(box.dir, "other");
    mkdirSync(other);
    git(other, "init", "-q", "-b", "main");
    git(other, "config", "user.name", "Test Person");
    git(other, "config", "user.email", "test@example.com");
    git(other, "commit", "-q", "--allow-empty", "-m", "other");
    mkdirSync(box.worktreeRoot);
    git(other, "worktree", "add", "-q", join(box.worktreeRoot, "14"), "-b", "cos/task-14");

    const report = await collectGarbage([box.project], box.worktreeRoot, new Set(), { dryRun: false });
    expect(report.removed).toEqual([]);
    expect(report.kept).toEqual([
      { path: join(box.worktreeRoot, "14"), reason: `a checkout of another repository (${join(other, ".git", "worktrees", "14")})` },
    ]);
    expect(existsSync(join(box.worktreeRoot, "14", ".git"))).toBe(true);
  });
});
