import { describe, expect, it } from "vitest";
import { buildDigest, digestSince } from "../../src/app/digest.ts";
import { cancelTask, queueTask } from "../../src/app/tasks.ts";
import { listTasks, showTask } from "../../src/app/views.ts";
import { explain } from "../../src/plan/explain.ts";
import { tempAppsClosedAfterEach } from "../helpers.ts";

// A task whose blocker ended badly waits for a person (DESIGN §3): `cos why`, the task list, the task
// view and the digest say so in the same words; a task that only waits for time is not "held".
describe("a task held because its blocker ended badly", () => {
  const tempApp = tempAppsClosedAfterEach();

  async function night() {
    const { ctx } = await tempApp();
    const cancelled = await queueTask(ctx, { title: "Blocker", type: "research", agent: "builder" }, "cli");
    const open = await queueTask(ctx, { title: "Open blocker", type: "research", agent: "writer" }, "cli");
    const held = await queueTask(ctx, { title: "Held", type: "research", agent: "researcher", blockedBy: [cancelled] }, "cli");
    const waiting = await queueTask(ctx, { title: "Waiting", type: "research", agent: "researcher", blockedBy: [open] }, "cli");
    await cancelTask(ctx, cancelled, null, "cli");
    return { ctx, cancelled, held, waiting };
  }

  it("is listed under failed or held in the digest by its hold's code, in the words of cos why", async () => {
    const { ctx, cancelled, held, waiting } = await night();
    const words = `held: #${cancelled} was cancelled; cancel this task (cos task cancel ${held}) or change its blockers (cos task edit ${held} --after none, or cos task edit ${held} --after 12,13 to wait for others)`;
    expect((await explain(ctx, held)).text).toBe(`#${held}: ${words}`);
    const digest = await buildDigest(ctx, digestSince(ctx.clock()));
    expect(digest.held.map((i) => [i.id, i.note])).toEqual([[held, words]]);
    expect(digest.queue.find((i) => i.id === waiting)?.note).toMatch(/^waiting for #\d+ \(queued\)$/);
  });

  it("tells the task list and the task view the same reason, and nothing for a task that only waits", async () => {
    const { ctx, cancelled, held, waiting } = await night();
    const reason = `#${cancelled} was cancelled; cancel this task (cos task cancel ${held}) or change its blockers (cos task edit ${held} --after none, or cos task edit ${held} --after 12,13 to wait for others)`;
    const list = await listTasks(ctx, "queued");
    expect(list.find((t) => t.id === held)?.held).toBe(reason);
    expect(list.find((t) => t.id === waiting)?.held).toBeNull();
    expect((await showTask(ctx, held)).held).toBe(reason);
  });
});
