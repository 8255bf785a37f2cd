import { describe, expect, it } from "vitest";
import { claimRuns, heartbeat, reportRun } from "../../src/app/runs.ts";
import { queueTask, type TaskInput } from "../../src/app/tasks.ts";
import { showTask } from "../../src/app/views.ts";
import { runPass } from "../../resolver/pass.ts";
import { tempAppsClosedAfterEach } from "../helpers.ts";

const config = { agents: { scout: { command: ["true"] }, writer: { command: ["true"] }, trainer: { command: ["true"], labels: ["gpu"] } } };

describe("the runner port: claim, heartbeat, report", () => {
  const tempApp = tempAppsClosedAfterEach();

  /** A fresh app with one task queued and dispatched by a pass, ready for a runner to claim. */
  async function dispatchedTask(task: TaskInput) {
    const { ctx, clock } = await tempApp(config);
    const id = await queueTask(ctx, task, "cli");
    await runPass(ctx);
    return { ctx, clock, id };
  }

  it("claims a dispatched task with its prompt, renews the lease, and records the report", async () => {
    const { ctx, clock, id } = await dispatchedTask({ title: "Find sources", type: "research", agent: "scout" });
    const [run, ...rest] = await claimRuns(ctx, { runner: "local", slots: 2 });
    expect(rest).toEqual([]);
    expect(run).toMatchObject({ taskId: id, attempt: 1, agent: "scout", tier: "auto", isolation: "direct" });
    expect(run!.prompt).toContain(`# Task #${id}: Find sources`);
    expect(await claimRuns(ctx, { runner: "other", slots: 2 })).toEqual([]);

    // Heartbeats keep the lease alive past the original lease time.
    for (let i = 0; i < 4; i++) {
      clock.advance(100_000);
      await heartbeat(ctx, id, 1, "local");
      expect((await runPass(ctx)).expired).toEqual([]);
    }
    await reportRun(ctx, id, 1, "local", {
      kind: "result",
      markdown: "## Summary\nThree sources.\n## Handoff\nSee notes.md",
      exitCode: 0,
      durationMs: 1234,
      diffStat: null,
      usage: { costUsd: 0.12, inputTokens: 1000, outputTokens: 200 },
    });
    const view = await showTask(ctx, id);
    expect(view.status).toBe("review");
    expect(view.result).toMatchObject({ summary: "Three sources.", handoff: "See notes.md" });
  });

  it("expires a lease whose heartbeats stop, spends the attempt, and refuses the dead run's late report and heartbeat", async () => {
    const { ctx, clock, id } = await dispatchedTask({ title: "Draft", type: "content", agent: "writer" });
    await claimRuns(ctx, { runner: "r1", slots: 1 });
    clock.advance(121_000);
    const report = await runPass(ctx);
    expect(report.expired).toEqual([{ taskId: id, attempt: 1, claimed: true }]);
    expect(await showTask(ctx, id)).toMatchObject({ status: "queued", attempt: 2 });
    await expect(heartbeat(ctx, id, 1, "r1")).rejects.toThrow(/lease lost/);
    await expect(
      reportRun(ctx, id, 1, "r1", { kind: "result", markdown: "late", exitCode: 0, durationMs: null, diffStat: null, usage: null }),
    ).rejects.toThrow(/attempt 1 refused/);
    expect((await showTask(ctx, id)).status).toBe("queued");
  });

  it("re-queues a usage limit for its reset time without spending an attempt", async () => {
    const { ctx, clock, id } = await dispatchedTask({ title: "Draft", type: "content", agent: "writer" });
    await claimRuns(ctx, { runner: "r1", slots: 1 });
    const reset = new Date(clock.now().getTime() + 3600_000).toISOString();
    await reportRun(ctx, id, 1, "r1", { kind: "failure", reason: "usage_limit", detail: "usage limit", retryAt: reset });
    expect(await showTask(ctx, id)).toMatchObject({ status: "queued", attempt: 1 });
    expect((await runPass(ctx)).dispatched).toEqual([]);
    clock.advance(3600_000);
    expect((await runPass(ctx)).dispatched.map((d) => d.taskId)).toEqual([id]);
  });

  it("hands a task whose agent asks for labels only to a runner that has them all", async () => {
    const { ctx, id } = await dispatchedTask({ title: "Fine-tune", type: "research", agent: "trainer" });
    expect(await claimRuns(ctx, { runner: "plain", slots: 2, labels: [] })).toEqual([]);
    expect(await claimRuns(ctx, { runner: "other", slots: 2, labels: ["cpu"] })).toEqual([]);
    const [run] = await claimRuns(ctx, { runner: "big", slots: 2, labels: ["gpu", "cpu"] });
    expect(run).toMatchObject({ taskId: id, agent: "trainer" });
  });

  it("stores the cost and tokens an agent reported and shows them in cos task show", async () => {
    const { ctx, id } = await dispatchedTask({ title: "Summarise", type: "research", agent: "scout" });
    await claimRuns(ctx, { runner: "r1", slots: 1 });
    await reportRun(ctx, id, 1, "r1", {
      kind: "result",
      markdown: "## Summary\nDone.",
      exitCode: 0,
      durationMs: 65_000,
      diffStat: { files: 2, insertions: 10, deletions: 3 },
      usage: { costUsd: 0.4213, inputTokens: 12000, outputTokens: 800 },
    });
    const view = await showTask(ctx, id);
    expect(view.result).toMatchObject({ usage: { costUsd: 0.4213, inputTokens: 12000, outputTokens: 800 } });
    const { renderTask } = await import("../../handlers/cli/render.ts");
    expect(renderTask(view)).toContain("result (attempt 1, exit 0, 65 s, 2 files +10 -3, cost $0.4213, tokens 12000 in / 800 out):");
  });
});
