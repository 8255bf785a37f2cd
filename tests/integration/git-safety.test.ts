import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishWorkspace, mergeTask, prepareWorkspace } from "../../runner/workspace.ts";
import { taskPatch } from "../../runner/workspace/patch.ts";
import { gitEnvironment } from "../../runner/workspace/git.ts";
import { git, gitSandbox } from "./git-kit.ts";

// DESIGN §12: cos's own git never runs what an agent wrote. An agent that got to write the repository's hooks,
// its config or the user's global git config (an unsandboxed run) plants commands there; every git command cos
// runs afterwards (commit what was left, merge on approval, the patch for review) must run none of them.

describe("cos's own git", () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const name of ["HOME", "XDG_CONFIG_HOME", "GIT_DIR", "TELEGRAM_BOT_TOKEN"]) saved[name] = process.env[name];
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("runs no hook, fsmonitor, filter, external diff or textconv an agent planted, and commits as ChiefOfStaff", async () => {
    const box = gitSandbox("cos-gitsafe-", { "a.txt": "one\n" });
    const marks = join(box.dir, "marks");
    mkdirSync(marks);
    const plant = (name: string) => `touch ${join(marks, name)}`;

    // The global config of the user cos runs as: what an unsandboxed agent could write into ~/.gitconfig.
    const home = join(box.dir, "home");
    mkdirSync(home);
    writeFileSync(
      join(home, ".gitconfig"),
      `[filter "pwn"]\n\tclean = sh -c '${plant("global-filter")}; cat'\n\tsmudge = cat\n[core]\n\tfsmonitor = ${plant("global-fsmonitor")}\n\thooksPath = ${join(box.dir, "global-hooks")}\n`,
    );
    process.env.HOME = home;
    process.env.XDG_CONFIG_HOME = home;
    // A shell inside some other repository, and a secret in cos's environment.
    process.env.GIT_DIR = join(box.dir, "elsewhere.git");
    process.env.TELEGRAM_BOT_TOKEN = "secret-bot-token";

    // The repository's own config and hooks.
    git(box.repo, "config", "core.fsmonitor", plant("repo-fsmonitor"));
    git(box.repo, "config", "diff.external", plant("repo-external-diff"));
    git(box.repo, "config", "diff.pwn.textconv", `sh -c '${plant("repo-textconv")}; cat "$1"' -`);
    const hooks = join(box.repo, ".git", "hooks");
    mkdirSync(join(box.dir, "global-hooks"));
    for (const [dir, prefix] of [[hooks, "repo"], [join(box.dir, "global-hooks"), "global"]] as const) {
      for (const hook of ["pre-commit", "post-commit", "commit-msg", "post-merge", "post-checkout", "reference-transaction"]) {
        const path = join(dir, hook);
        writeFileSync(path, `#!/bin/sh\n${plant(`${prefix}-${hook}`)}\nenv > ${join(marks, `${prefix}-${hook}.env`)}\n`);
        chmodSync(path, 0o755);
      }
    }

    const ws = await prepareWorkspace({ taskId: 9, isolation: "worktree", project: box.project, worktreeRoot: box.worktreeRoot, scratchRoot: box.scratchRoot });
    // The agent's work, with attributes that name the planted filter and textconv.
    writeFileSync(join(ws.dir, ".gitattributes"), "* filter=pwn diff=pwn\n");
    writeFileSync(join(ws.dir, "b.txt"), "two\n");
    const finished = await finishWorkspace(ws, "cos: task #9 attempt 1");
    expect(finished.commit).not.toBeNull();
    expect(git(box.repo, "log", "-1", "--format=%an <%ae>|%cn", "cos/task-9")).toBe("ChiefOfStaff <cos@localhost>|ChiefOfStaff");

    const patch = await taskPatch(box.project, 9, null);
    expect(patch).toContain("+two");
    // The main branch is not checked out anywhere but the repo itself: merged in the checkout.
    const merged = await mergeTask(box.project, 9, box.worktreeRoot);
    expect(merged.merged).toBe(true);
    expect(git(box.repo, "log", "-1", "--format=%an|%s", "main")).toBe("ChiefOfStaff|Merge task #9 (cos/task-9)");

    const ran = ["global-filter", "global-fsmonitor", "repo-fsmonitor", "repo-external-diff", "repo-textconv"].filter((m) => existsSync(join(marks, m)));
    const hooksRan = ["repo", "global"].flatMap((p) =>
      ["pre-commit", "post-commit", "commit-msg", "post-merge", "post-checkout", "reference-transaction"].map((h) => `${p}-${h}`),
    ).filter((m) => existsSync(join(marks, m)));
    expect([...ran, ...hooksRan]).toEqual([]);
  });

  it("passes git only PATH, HOME and LANG of cos's environment, with no system or global config", () => {
    const env = gitEnvironment({ GIT_INDEX_FILE: "/tmp/index" }, {
      PATH: "/usr/bin",
      HOME: "/home/cos",
      LANG: "C.UTF-8",
      TELEGRAM_BOT_TOKEN: "secret",
      COS_DB_AUTH_TOKEN: "secret",
      GIT_DIR: "/elsewhere",
      GIT_CONFIG_PARAMETERS: "'core.hooksPath'='/tmp/hooks'",
    });
    expect(env).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/cos",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      GIT_TERMINAL_PROMPT: "0",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_INDEX_FILE: "/tmp/index",
    });
  });
});
