import { existsSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { decideReview } from "../../src/app/review.ts";
import { claimRuns, reportRun } from "../../src/app/runs.ts";
import { loadTask, queueTask } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { runPass } from "../../resolver/pass.ts";
import { finishWorkspace, prepareWorkspace } from "../../runner/workspace.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { movableClock, tempWorkspace, type TempWorkspace } from "../helpers.ts";
import { waitFor } from "../wait.ts";
import { gitAs, initRepo } from "./git-kit.ts";
import { bundleFixture, seededRandom, spawnFixture } from "./store-helpers.ts";

// DESIGN §12: approvals and discards survive a crash. Each trial puts a code task in review with work on its
// branch, then decides it in a child process (`cos verdict`'s path, a chat tap, or the tier's timer in a
// resolver pass) that SIGKILLs itself at a seeded instant: a named crash point, or a seeded delay that can land
// anywhere, inside git included. Afterwards the task must be in one of the states the design allows, and
// deciding again (or the next pass) must complete it: one merge per task, ever.

// Ten rounds of the four actions: the five rounds of named points reach every point of every action, so each
// cut-short state below is reached whatever the seeded delays of the other five hit on this machine.
const TRIALS = 40;
const SEED = 20261130;

type Action = "approve" | "tap" | "discard" | "auto";
const POINTS: Record<Action, string[]> = {
  approve: ["approve:start", "merge:git-done", "approve:merged", "approve:recorded", "approve:removed"],
  tap: ["approve:start", "merge:git-done", "approve:merged", "approve:recorded", "approve:removed"],
  auto: ["approve:start", "merge:git-done", "approve:merged", "approve:recorded", "approve:removed"],
  discard: ["discard:kept", "discard:recorded", "discard:removed"],
};

const git = gitAs;

interface Trial {
  ws: TempWorkspace;
  ctx: AppContext;
  repo: string;
  id: number;
  mainBefore: string;
  tip: string;
  clock: ReturnType<typeof movableClock>;
}

/** A repository, a store, and task #1 in review with a commit of its agent's on cos/task-1. */
async function taskInReview(action: Action, n: number): Promise<Trial> {
  const ws = tempWorkspace({});
  const repo = initRepo(join(ws.dir, "site"));
  writeFileSync(
    ws.configPath,
    JSON.stringify({ projects: { site: { repo } }, agents: { builder: { command: ["true"] } }, worktreeRoot: join(ws.dir, "data", "worktrees") }),
  );
  const clock = movableClock("2026-11-23T22:00:00.000Z");
  const ctx = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
  const id = await queueTask(ctx, { title: `Trial ${n}`, type: "code", agent: "builder", tier: action === "auto" ? "auto" : null }, "cli");
  await runPass(ctx);
  const [run] = await claimRuns(ctx, { runner: "local", slots: 1 });
  const workspace = await prepareWorkspace({
    taskId: id,
    isolation: "worktree",
    project: { name: "site", repo, mainBranch: "main" },
    worktreeRoot: join(ws.dir, "data", "worktrees"),
    scratchRoot: join(ws.dir, "data", "scratch"),
  });
  writeFileSync(join(workspace.dir, `feature-${n}.txt`), `trial ${n}\n`);
  const finished = await finishWorkspace(workspace, `cos: task #${id} attempt 1`);
  await reportRun(ctx, id, run!.attempt, "local", { kind: "result", markdown: "## Summary\nDone.", exitCode: 0, durationMs: 1, diffStat: finished.diffStat, usage: null });
  return { ws, ctx, repo, id, mainBefore: git(repo, "rev-parse", "main"), tip: git(repo, "rev-parse", `cos/task-${id}`), clock };
}

/** git processes a killed cos left behind finish on their own; wait until none works in the trial's folder. */
async function gitIdle(dir: string): Promise<void> {
  await waitFor(() => {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) return false;
      } catch {
        // gone, or not ours to read
      }
    }
    return true;
  }, "git processes of the killed approval to finish");
}

const mergesOf = (t: Trial) => git(t.repo, "log", "--first-parent", "--format=%s", "main").split("\n").filter((s) => s.startsWith(`Merge task #${t.id} `));
const branchExists = (t: Trial) => git(t.repo, "for-each-ref", `refs/heads/cos/task-${t.id}`) !== "";

describe("approvals and discards killed with SIGKILL", () => {
  let crasher: Awaited<ReturnType<typeof bundleFixture>>;
  beforeAll(async () => {
    crasher = await bundleFixture("review-crasher.ts");
  });
  afterAll(() => crasher?.cleanup());

  it(`end consistent and completable in ${TRIALS} seeded trials, with one merge per task`, async () => {
    const random = seededRandom(SEED);
    const outcomes: string[] = [];
    for (let n = 0; n < TRIALS; n++) {
      const action = (["approve", "tap", "discard", "auto"] as const)[n % 4]!;
      // Each action dies three times at a named point (the next in turn), twice after a seeded delay, wherever it is then.
      const round = n >> 2;
      const kill = round % 2 === 0 ? `point:${POINTS[action][(round >> 1) % POINTS[action].length]}` : `after:${random.int(20, 600)}`;
      const t = await taskInReview(action, n);
      const context = `trial ${n}: ${action}, kill ${kill}`;
      try {
        // The child's clock: after the result, and for the timer's pass past the 18 h of tier auto.
        t.clock.advance(action === "auto" ? 19 * 3600_000 : 60_000);
        const child = spawnFixture(crasher.path, [action, String(t.id), kill, t.clock.iso()], t.ws.env);
        await child.waitFor((l) => l === "ready");
        child.send("go");
        const exit = await child.exited;
        await gitIdle(t.ws.dir);
        const killed = exit.signal === "SIGKILL";
        if (!killed) expect(exit.code, `${context}: ${child.stderr()}`).toBe(0);

        // Right after the kill: a state the design allows.
        let { state } = await loadTask(t.ctx, t.id);
        const main = git(t.repo, "rev-parse", "main");
        expect(existsSync(join(t.repo, ".git", "MERGE_HEAD")), context).toBe(false);
        let seen: string;
        if (state.status === "review" && main === t.mainBefore) {
          seen = "review, main untouched";
        } else if (state.status === "review") {
          // Merged, not recorded: exactly one merge of the tip, and only approving again is accepted.
          seen = "review, merged but not recorded";
          expect(action, context).not.toBe("discard");
          expect(git(t.repo, "rev-parse", "main^2"), context).toBe(t.tip);
          expect(mergesOf(t), context).toHaveLength(1);
          const before = await t.ctx.store.lastPosition();
          await expect(decideReview(t.ctx, t.id, "discarded", null, "cli"), context).rejects.toThrow(/merged into main already/);
          await expect(decideReview(t.ctx, t.id, "sent_back", "redo", "cli"), context).rejects.toThrow(/merged into main already/);
          expect(await t.ctx.store.lastPosition(), context).toBe(before);
        } else if (state.status === "approved") {
          seen = state.worktreeRemoved ? "approved, done" : "approved, worktree left";
          expect(state.merge?.commit, context).toBe(main);
          expect(git(t.repo, "rev-parse", "main^2"), context).toBe(t.tip);
        } else {
          expect(state.status, context).toBe("discarded");
          seen = state.worktreeRemoved ? "discarded, done" : "discarded, worktree left";
          expect(main, context).toBe(t.mainBefore);
          expect(git(t.repo, "rev-parse", `refs/cos/discarded/${t.id}`), context).toBe(t.tip);
        }
        outcomes.push(`${action}/${kill}: ${killed ? "" : "not killed, "}${seen}`);

        // Deciding again completes it.
        t.clock.advance(60_000);
        if (!state.worktreeRemoved) {
          if (action === "discard") await decideReview(t.ctx, t.id, "discarded", null, "cli");
          else if (action === "auto" && state.status === "review") await runPass(t.ctx);
          else await decideReview(t.ctx, t.id, "approved", null, "cli");
        }
        state = (await loadTask(t.ctx, t.id)).state;
        expect(state.worktreeRemoved, context).toBe(true);
        expect(branchExists(t), context).toBe(false);
        expect(existsSync(join(t.ws.dir, "data", "worktrees", String(t.id))), context).toBe(false);
        const events = (await t.ctx.store.readStream(`task-${t.id}`)).map((e) => e.type);
        if (action === "discard") {
          expect(state.status, context).toBe("discarded");
          expect(git(t.repo, "rev-parse", "main"), context).toBe(t.mainBefore);
          expect(git(t.repo, "rev-parse", `refs/cos/discarded/${t.id}`), context).toBe(t.tip);
          expect(events.filter((e) => e === "TaskMerged"), context).toHaveLength(0);
        } else {
          expect(state.status, context).toBe("approved");
          expect(mergesOf(t), context).toHaveLength(1);
          expect(events.filter((e) => e === "TaskMerged"), context).toHaveLength(1);
          expect(state.merge?.commit, context).toBe(git(t.repo, "rev-parse", "main"));
          expect(git(t.repo, "rev-parse", "main^2"), context).toBe(t.tip);
          if (action === "auto") {
            expect(state.autoApproved, context).not.toBeNull();
            expect(events.filter((e) => e === "VerdictRecorded"), context).toHaveLength(0);
          } else {
            expect(events.filter((e) => e === "VerdictRecorded"), context).toHaveLength(1);
          }
          expect(git(t.repo, "for-each-ref", `refs/cos/discarded/${t.id}`), context).toBe("");
        }
      } finally {
        await t.ctx.db.close();
        t.ws.cleanup();
      }
    }
    console.log(`review crash trials (seed ${SEED}):\n  ${outcomes.join("\n  ")}`);
    expect(outcomes).toHaveLength(TRIALS);
    // The trials reached every kind of cut-short state, not only the easy ones.
    for (const kind of ["review, main untouched", "review, merged but not recorded", "approved, worktree left", "discarded, worktree left"]) {
      expect(outcomes.some((o) => o.endsWith(kind)), kind).toBe(true);
    }
  }, 240_000);
});
