import { describe, expect, it } from "vitest";
import { editTask, queueTask, recordResult, recordVerdict } from "../../src/app/tasks.ts";
import { closeAfterEach, tempApp } from "../helpers.ts";
import { dispatch, liveAndRebuilt } from "./store-helpers.ts";

describe("the verdicts projection", () => {
  const keep = closeAfterEach();

  it("keeps the agent that was judged when a sent-back task is given to another agent", async () => {
    const app = keep(await tempApp());
    const { ctx, clock } = app;
    const id = await queueTask(ctx, { title: "Draft the post", type: "content", agent: "writer" }, "cli");
    await dispatch(ctx, id);
    clock.advance(60_000);
    await recordResult(ctx, id, { markdown: "## Summary\nA draft.", exitCode: 0 }, "agent:writer");
    clock.advance(60_000);
    await recordVerdict(ctx, id, "sent_back", "too long", "user:telegram:1");
    // Sent back, the task is queued again, and a person may hand it to another agent (DESIGN §3, §9).
    clock.advance(60_000);
    await editTask(ctx, id, { agent: "builder" }, "cli");
    await dispatch(ctx, id);
    clock.advance(60_000);
    await recordResult(ctx, id, { markdown: "## Summary\nA shorter draft.", exitCode: 0 }, "agent:builder");
    clock.advance(60_000);
    await recordVerdict(ctx, id, "approved", null, "user:telegram:1");

    // Trust is per (agent, type) from these rows (DESIGN §5): the send-back judged writer's work.
    const rows = await ctx.db.query<{ seq: number; agent: string; verdict: string; attempt: number }>(
      "SELECT seq, agent, verdict, attempt FROM verdicts WHERE task_id = ? ORDER BY seq",
      [id],
    );
    expect(rows.map((r) => [Number(r.seq), r.agent, r.verdict, Number(r.attempt)])).toEqual([
      [1, "writer", "sent_back", 1],
      [2, "builder", "approved", 2],
    ]);
    const { live, rebuilt } = await liveAndRebuilt(ctx.db);
    expect(live).toEqual(rebuilt);
  });
});
