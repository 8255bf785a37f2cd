import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { cancelTask, loadTask, queueTask, recordResult, recordVerdict } from "../../src/app/tasks.ts";
import type { Verdict } from "../../src/domain/task/task.ts";
import { runPass } from "../../resolver/pass.ts";
import { trustTable } from "../../src/app/trust.ts";
import { showTask } from "../../src/app/views.ts";
import { renderTrust } from "../../handlers/cli/render.ts";
import { tempAppsClosedAfterEach } from "../helpers.ts";
import { checksConfig, FAILS, nodeCheck, passAndRun, siteRepo } from "./checks-kit.ts";

// Issue 16, item 2, `review.onFailedChecks: send-back`: a failed check sends the task back to the queue once, on
// its own, with the failing output as its notes; it is no human verdict, so no trust number moves. A second
// failure goes to review.

const tempApp = tempAppsClosedAfterEach();
/** Fails until the agent's second attempt is in work.txt: the agent "fixes" what the check said. */
const FIXED_ON_ATTEMPT_2 = nodeCheck("lint", "const t = require('fs').readFileSync('work.txt', 'utf8'); if (!t.includes('attempt 2')) { console.log('work.txt: attempt 2 missing'); process.exit(1); }");
const SEND_BACK = { review: { onFailedChecks: "send-back" } };

/** Human verdicts on earlier builder code tasks (results recorded by hand), so the trust numbers are not all zero. */
async function seedVerdicts(ctx: AppContext, verdicts: Verdict[]): Promise<void> {
  for (const verdict of verdicts) {
    const id = await queueTask(ctx, { title: `Earlier ${verdict}`, type: "code", agent: "builder" }, "cli");
    await runPass(ctx);
    await recordResult(ctx, id, { markdown: "## Summary\nDone.", exitCode: 0 }, "cli");
    await recordVerdict(ctx, id, verdict, null, "cli");
    if (verdict === "sent_back") await cancelTask(ctx, id, "seeded", "cli");
  }
}

async function trustFacts(ctx: AppContext) {
  const rows = (await trustTable(ctx)).map(({ checks: _checks, ...numbers }) => numbers);
  const verdicts = await ctx.db.query("SELECT * FROM verdicts");
  const tierChanges = (await ctx.store.readAll({ limit: 10_000 })).filter((e) => e.type === "TierChanged");
  return { rows, verdicts: verdicts.length, tierChanges: tierChanges.length };
}

describe("failed checks in send-back mode", () => {
  it("sends the task back once on its own; the next prompt opens with the failing output as the notes, and no trust number moved", async () => {
    const { ctx, ws } = await tempApp(checksConfig([FIXED_ON_ATTEMPT_2], SEND_BACK));
    siteRepo(ws.dir);
    await seedVerdicts(ctx, ["approved", "sent_back", "approved"]);
    const id = await queueTask(ctx, { title: "Tidy the page", type: "code", agent: "builder" }, "cli");
    const before = await trustFacts(ctx);
    expect(before.rows).toMatchObject([{ agent: "builder", type: "code", n: 3, approvalRate: 2 / 3, sendBackRate: 0.1 }]);

    await passAndRun(ctx, ws.dir);
    const { state } = await loadTask(ctx, id);
    expect(state).toMatchObject({ status: "queued", attempt: 2, autoSendBacks: 1 });
    expect(state.feedback).toMatchObject({ attempt: 1, automatic: true });
    expect(state.feedback!.notes).toContain("✗ lint: exit code 1 after");
    expect(state.feedback!.notes).toContain("work.txt: attempt 2 missing");
    expect(state.verdicts).toEqual([]);
    expect(state.activity.map((a) => a.text)).toContain("sent back automatically: check lint failed (not a person's verdict; trust is unchanged)");
    expect(await trustFacts(ctx)).toEqual(before);

    await passAndRun(ctx, ws.dir);
    const prompt = readFileSync(join(ws.dir, "data", "runs", `${id}-2`, "prompt.md"), "utf8");
    expect(prompt.startsWith("# Feedback from the last attempt\n\nAttempt 1 was sent back automatically: the project's checks failed on it. Their failing output, verbatim:\n\n> The project's checks failed")).toBe(true);
    expect(prompt).toContain("> work.txt: attempt 2 missing");

    const view = await showTask(ctx, id);
    expect(view).toMatchObject({ status: "review", attempt: 2, feedback: { attempt: 1, automatic: true } });
    expect(view.result!.checks).toMatchObject([{ name: "lint", outcome: "passed" }]);
    expect(await trustFacts(ctx)).toEqual(before);
    // Information only: the share of checked results that passed, the failed attempt counted.
    expect((await trustTable(ctx))[0]!.checks).toEqual({ rate: 0.5, n: 2 });
    expect(renderTrust(await trustTable(ctx))).toMatch(/checks passed[^\n]*\nbuilder +code +gate +gate +- +3 +67% +10% +50% of 2 /);
  });

  it("a second failure goes to review with the failing check on its card; the task is not sent back twice", async () => {
    const { ctx, ws } = await tempApp(checksConfig([FAILS("lint")], SEND_BACK));
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Tidy the page", type: "code", agent: "builder" }, "cli");
    await passAndRun(ctx, ws.dir);
    expect((await loadTask(ctx, id)).state).toMatchObject({ status: "queued", attempt: 2 });
    await passAndRun(ctx, ws.dir);

    const { state } = await loadTask(ctx, id);
    expect(state).toMatchObject({ status: "review", attempt: 2, autoSendBacks: 1 });
    expect(state.result!.checks).toMatchObject([{ name: "lint", outcome: "failed", tail: ["src/a.ts:3 unused variable x", "1 problem"] }]);
    const types = (await ctx.store.readStream(`task-${id}`)).map((e) => e.type);
    expect(types.filter((t) => t === "TaskSentBackAutomatically")).toHaveLength(1);
    expect(types).not.toContain("VerdictRecorded");
  });

  it("in review mode (the default) a failed check goes straight to review", async () => {
    const { ctx, ws } = await tempApp(checksConfig([FAILS("lint")]));
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Tidy the page", type: "code", agent: "builder" }, "cli");
    await passAndRun(ctx, ws.dir);
    expect((await loadTask(ctx, id)).state).toMatchObject({ status: "review", attempt: 1, autoSendBacks: 0, feedback: null });
  });
});
