import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decideReview } from "../../src/app/review.ts";
import { loadTask, queueTask, recordResult } from "../../src/app/tasks.ts";
import { taskDiff } from "../../src/chat/views.ts";
import { IllegalStateError } from "../../src/shared/errors.ts";
import { runPass } from "../../resolver/pass.ts";
import { DEFAULT_TEST_CONFIG, tempApp } from "../helpers.ts";
import { git, gitSandbox, type GitSandbox } from "./git-kit.ts";

// A verdict's git side through the app's workspace port (DESIGN §7), on a real repository: approve merges
// or refuses with the conflicting files, discard keeps the commits, and the patch comes from the same port.

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function appOn(box: GitSandbox) {
  const app = await tempApp({
    ...DEFAULT_TEST_CONFIG,
    projects: { site: { repo: box.repo, mainBranch: "main" } },
    worktreeRoot: box.worktreeRoot,
  });
  closers.push(app.close);
  return app.ctx;
}

/** A code task in review whose branch changes `file` as a worktree run would have left it. */
async function taskInReview(ctx: Awaited<ReturnType<typeof appOn>>, box: GitSandbox, file: string, content: string): Promise<number> {
  const id = await queueTask(ctx, { title: `Change ${file}`, type: "code", agent: "builder", project: "site" }, "cli");
  git(box.repo, "checkout", "-q", "-b", `cos/task-${id}`);
  writeFileSync(join(box.repo, file), content);
  git(box.repo, "add", file);
  git(box.repo, "commit", "-q", "-m", `task ${id}`);
  git(box.repo, "checkout", "-q", "main");
  await runPass(ctx);
  await recordResult(ctx, id, { markdown: "## Summary\nDone.", exitCode: 0 }, "cli");
  expect((await loadTask(ctx, id)).state.status).toBe("review");
  return id;
}

describe("decideReview through the workspace port", () => {
  it("approves by merging the branch into main and recording the merge and the removed worktree", async () => {
    const box = gitSandbox("cos-review-", { "a.txt": "one\n" });
    const ctx = await appOn(box);
    const id = await taskInReview(ctx, box, "a.txt", "one, changed\n");

    const { state } = await decideReview(ctx, id, "approved", null, "cli");
    expect(state.status).toBe("approved");
    expect(state.merge?.commit).toBe(git(box.repo, "rev-parse", "main"));
    expect(git(box.repo, "show", "main:a.txt")).toBe("one, changed");
    expect(git(box.repo, "branch", "--list", `cos/task-${id}`)).toBe("");
    expect(state.activity.map((a) => a.text)).toContain(`worktree ${join(box.worktreeRoot, String(id))} removed`);
    // Once merged, the patch is what the merge commit brought in.
    expect(await taskDiff(ctx, id)).toContain("+one, changed");
  });

  it("refuses an approval that conflicts, names the files and leaves the task in review with its branch", async () => {
    const box = gitSandbox("cos-review-", { "a.txt": "one\n" });
    const ctx = await appOn(box);
    const id = await taskInReview(ctx, box, "a.txt", "one from the task\n");
    writeFileSync(join(box.repo, "a.txt"), "one from main\n");
    git(box.repo, "commit", "-q", "-am", "main moved on");
    const main = git(box.repo, "rev-parse", "main");

    const refused = decideReview(ctx, id, "approved", null, "cli");
    await expect(refused).rejects.toThrow(IllegalStateError);
    await expect(refused).rejects.toThrow(/conflicts in a\.txt; send it back/);
    const { state } = await loadTask(ctx, id);
    expect(state.status).toBe("review");
    expect(state.activity.map((a) => a.text)).toContain(`merge of cos/task-${id} into main refused: conflicts in a.txt`);
    expect(git(box.repo, "rev-parse", "main")).toBe(main);
    expect(git(box.repo, "branch", "--list", `cos/task-${id}`)).toContain(`cos/task-${id}`);
    expect(await taskDiff(ctx, id)).toContain("+one from the task");
  });

  it("discards by removing the branch and keeping its commits under refs/cos/discarded/<id>", async () => {
    const box = gitSandbox("cos-review-", { "a.txt": "one\n" });
    const ctx = await appOn(box);
    const id = await taskInReview(ctx, box, "b.txt", "new\n");
    const tip = git(box.repo, "rev-parse", `cos/task-${id}`);

    const { state } = await decideReview(ctx, id, "discarded", null, "cli");
    expect(state.status).toBe("discarded");
    expect(git(box.repo, "rev-parse", `refs/cos/discarded/${id}`)).toBe(tip);
    expect(git(box.repo, "branch", "--list", `cos/task-${id}`)).toBe("");
    expect(state.activity.map((a) => a.text)).toContain(
      `worktree ${join(box.worktreeRoot, String(id))} removed; commits kept at refs/cos/discarded/${id}`,
    );
  });
});
