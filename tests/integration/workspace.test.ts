import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { finishWorkspace, prepareWorkspace, taskBranch, worktreePath, type ProjectRef, type WorkspaceSpec } from "../../runner/workspace.ts";
import { IllegalStateError, ValidationError } from "../../src/shared/errors.ts";
import { git, gitSandbox } from "./git-kit.ts";

interface Sandbox {
  dir: string;
  repo: string;
  project: ProjectRef;
  worktreeRoot: string;
  scratchRoot: string;
  spec(taskId: number, isolation?: "worktree" | "direct"): WorkspaceSpec;
}

function sandbox(): Sandbox {
  const box = gitSandbox("cos-ws-", { "a.txt": "one\ntwo\nthree\nfour\nfive\n", "b.txt": "bee\n" });
  const { project, worktreeRoot, scratchRoot } = box;
  return {
    ...box,
    spec: (taskId, isolation = "worktree") => ({ taskId, isolation, project, worktreeRoot, scratchRoot }),
  };
}

describe("preparing workspaces", () => {
  it("puts a worktree at <worktreeRoot>/<id> on cos/task-<id>, branched from main", async () => {
    const box = sandbox();
    const main = git(box.repo, "rev-parse", "main");
    const ws = await prepareWorkspace(box.spec(7));
    expect(ws).toEqual({ kind: "worktree", dir: join(box.worktreeRoot, "7"), branch: "cos/task-7", baseCommit: main });
    expect(git(ws.dir, "symbolic-ref", "HEAD")).toBe("refs/heads/cos/task-7");
    expect(git(ws.dir, "rev-parse", "HEAD")).toBe(main);
    expect(readFileSync(join(ws.dir, "a.txt"), "utf8")).toContain("three");
    expect(git(box.repo, "status", "--porcelain")).toBe("");
    expect(git(box.repo, "symbolic-ref", "HEAD")).toBe("refs/heads/main");
  });

  it("reuses the worktree and its branch on a send-back, with the original base", async () => {
    const box = sandbox();
    const base = git(box.repo, "rev-parse", "main");
    const first = await prepareWorkspace(box.spec(3));
    writeFileSync(join(first.dir, "notes.md"), "first attempt\n");
    const { commit } = await finishWorkspace(first, "Attempt 1");
    // main moves on meanwhile; the send-back still measures against where the branch started
    writeFileSync(join(box.repo, "b.txt"), "bee\nbuzz\n");
    git(box.repo, "commit", "-q", "-am", "main moves");

    const second = await prepareWorkspace(box.spec(3));
    expect(second).toEqual({ kind: "worktree", dir: first.dir, branch: "cos/task-3", baseCommit: base });
    expect(git(second.dir, "rev-parse", "HEAD")).toBe(commit);
    expect(readFileSync(join(second.dir, "notes.md"), "utf8")).toBe("first attempt\n");
  });

  it("checks the kept branch out again when the worktree folder went missing", async () => {
    const box = sandbox();
    const first = await prepareWorkspace(box.spec(4));
    writeFileSync(join(first.dir, "kept.txt"), "kept\n");
    const { commit } = await finishWorkspace(first, "Attempt 1");
    rmSync(first.dir, { recursive: true, force: true });

    const second = await prepareWorkspace(box.spec(4));
    expect(second.dir).toBe(first.dir);
    expect(git(second.dir, "rev-parse", "HEAD")).toBe(commit);
    expect(readFileSync(join(second.dir, "kept.txt"), "utf8")).toBe("kept\n");
  });

  it("runs a direct task in the repository itself, based at HEAD", async () => {
    const box = sandbox();
    const ws = await prepareWorkspace(box.spec(5, "direct"));
    expect(ws).toEqual({ kind: "direct", dir: box.repo, branch: null, baseCommit: git(box.repo, "rev-parse", "HEAD") });
    expect(existsSync(box.worktreeRoot)).toBe(false);
  });

  it("gives a task without a project a scratch folder of its own", async () => {
    const box = sandbox();
    const ws = await prepareWorkspace({ ...box.spec(9), project: null });
    expect(ws).toEqual({ kind: "scratch", dir: join(box.scratchRoot, "9"), branch: null, baseCommit: null });
    expect(existsSync(ws.dir)).toBe(true);
    expect(await finishWorkspace(ws, "unused")).toEqual({ commit: null, diffStat: null, changes: null });
  });

  it("prepares ten tasks at once on one repository without a failure", async () => {
    const box = sandbox();
    const ids = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
    const results = await Promise.allSettled(ids.map((id) => prepareWorkspace(box.spec(id))));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const branches = git(box.repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/cos/").split("\n");
    expect(branches.sort()).toEqual(ids.map((id) => `cos/task-${id}`).sort());
    for (const id of ids) expect(git(join(box.worktreeRoot, String(id)), "symbolic-ref", "--short", "HEAD")).toBe(`cos/task-${id}`);
  });

  it("refuses a folder in the worktree root that is not a worktree", async () => {
    const box = sandbox();
    mkdirSync(join(box.worktreeRoot, "6"), { recursive: true });
    writeFileSync(join(box.worktreeRoot, "6", "stray.txt"), "left behind\n");
    await expect(prepareWorkspace(box.spec(6))).rejects.toThrow(IllegalStateError);
    expect(git(box.repo, "branch", "--list", "cos/*")).toBe("");
  });
});

describe("names and paths", () => {
  it("generates branch and folder names from positive whole task ids only", () => {
    expect(taskBranch(42)).toBe("cos/task-42");
    expect(worktreePath("/srv/cos/worktrees", 42)).toBe("/srv/cos/worktrees/42");
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => taskBranch(bad)).toThrow(ValidationError);
      expect(() => worktreePath("/srv/cos/worktrees", bad)).toThrow(ValidationError);
    }
    expect(() => worktreePath("relative/worktrees", 1)).toThrow(ValidationError);
  });

  it("refuses a task folder that a symbolic link would carry outside the root", async () => {
    const box = sandbox();
    const outside = join(box.dir, "outside");
    mkdirSync(outside);
    mkdirSync(box.worktreeRoot);
    symlinkSync(outside, join(box.worktreeRoot, "8"));
    await expect(prepareWorkspace(box.spec(8))).rejects.toThrow(ValidationError);
    mkdirSync(box.scratchRoot);
    symlinkSync(outside, join(box.scratchRoot, "8"));
    await expect(prepareWorkspace({ ...box.spec(8), project: null })).rejects.toThrow(ValidationError);
    await expect(prepareWorkspace({ ...box.spec(8), taskId: -8 })).rejects.toThrow(ValidationError);
    expect(git(box.repo, "worktree", "list", "--porcelain").match(/^worktree /gm)).toHaveLength(1);
    unlinkSync(join(box.worktreeRoot, "8"));
  });

  it("refuses a main branch name that git would read as an option", async () => {
    const box = sandbox();
    const spec = { ...box.spec(2), project: { ...box.project, mainBranch: "--orphan" } };
    await expect(prepareWorkspace(spec)).rejects.toThrow(ValidationError);
  });
});

describe("finishing workspaces", () => {
  it("commits what the agent left in its worktree and counts the branch against the base", async () => {
    const box = sandbox();
    const ws = await prepareWorkspace(box.spec(21));
    // The agent commits one file itself and leaves the rest: an edit, a new file, a deletion.
    writeFileSync(join(ws.dir, "d.txt"), "dee\n");
    git(ws.dir, "add", "d.txt");
    git(ws.dir, "commit", "-q", "-m", "agent's own commit");
    writeFileSync(join(ws.dir, "a.txt"), "ONE\ntwo\nTHREE\nfour\nfive\n");
    writeFileSync(join(ws.dir, "c.txt"), "see\nsea\nsee\n");
    unlinkSync(join(ws.dir, "b.txt"));

    const finished = await finishWorkspace(ws, "Task #21: left uncommitted");
    expect(finished.diffStat).toEqual({ files: 4, insertions: 6, deletions: 3 });
    expect(finished.changes).toEqual([
      { path: "a.txt", change: "modified" },
      { path: "b.txt", change: "deleted" },
      { path: "c.txt", change: "added" },
      { path: "d.txt", change: "added" },
    ]);
    expect(finished.commit).toBe(git(box.repo, "rev-parse", "cos/task-21"));
    expect(git(ws.dir, "status", "--porcelain")).toBe("");
    expect(git(ws.dir, "log", "-1", "--format=%an <%ae>|%s")).toBe("ChiefOfStaff <cos@localhost>|Task #21: left uncommitted");
    expect(git(box.repo, "status", "--porcelain")).toBe("");
  });

  it("commits nothing when nothing was left uncommitted", async () => {
    const box = sandbox();
    const ws = await prepareWorkspace(box.spec(22));
    const before = git(ws.dir, "rev-parse", "HEAD");
    expect(await finishWorkspace(ws, "nothing")).toEqual({ commit: null, diffStat: { files: 0, insertions: 0, deletions: 0 }, changes: [] });
    expect(git(ws.dir, "rev-parse", "HEAD")).toBe(before);
  });

  it("commits as ChiefOfStaff when no identity is configured either", async () => {
    const box = sandbox();
    git(box.repo, "config", "--unset", "user.name");
    git(box.repo, "config", "--unset", "user.email");
    const home = join(box.dir, "home");
    mkdirSync(home);
    const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
    process.env.HOME = home;
    process.env.XDG_CONFIG_HOME = home;
    try {
      const ws = await prepareWorkspace(box.spec(23));
      writeFileSync(join(ws.dir, "e.txt"), "eee\n");
      const { commit } = await finishWorkspace(ws, "anonymous work");
      expect(commit).not.toBeNull();
      expect(git(ws.dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>")).toBe("ChiefOfStaff <cos@localhost>|ChiefOfStaff <cos@localhost>");
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it("counts a direct task's commits and uncommitted work without touching the index", async () => {
    const box = sandbox();
    const ws = await prepareWorkspace(box.spec(24, "direct"));
    writeFileSync(join(box.repo, "b.txt"), "bee\nbuzz\n");
    git(box.repo, "commit", "-q", "-am", "agent commit");
    writeFileSync(join(box.repo, "a.txt"), "one\ntwo\n");
    writeFileSync(join(box.repo, "new.txt"), "fresh\nfile\n");
    const status = git(box.repo, "status", "--porcelain");

    const finished = await finishWorkspace(ws, "unused");
    expect(finished).toEqual({
      commit: null,
      diffStat: { files: 3, insertions: 3, deletions: 3 },
      changes: [
        { path: "a.txt", change: "modified" },
        { path: "b.txt", change: "modified" },
        { path: "new.txt", change: "added" },
      ],
    });
    expect(git(box.repo, "status", "--porcelain")).toBe(status);
    expect(git(box.repo, "rev-list", "--count", "HEAD")).toBe("2");
  });
});
