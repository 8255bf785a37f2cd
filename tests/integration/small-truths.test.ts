import { afterEach, describe, expect, it } from "vitest";
import { runPass } from "../../resolver/pass.ts";
import { claimRuns, reportRun } from "../../src/app/runs.ts";
import { queueTask, recordResult, recordVerdict } from "../../src/app/tasks.ts";
import { runCli } from "../helpers.ts";
import { CHAT, cardOfTask, startHarness, type Harness, askAsOwner } from "./telegram-kit.ts";

// Issue #14, item 12: small truths. Trust at n=0 is "—" (null in JSON); "next" says what really moves
// the tier; an unclaimed dispatch says it went back to the queue and never shows a past deadline as to
// come; a card without a diff leaves "diff: 0 files" out; a cut summary says where the rest is; /help
// lists the agents and types; an unknown key:value in /task is refused, not kept in the title.

describe("small truths", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function harness(): Promise<Harness> {
    const h = await startHarness({ mode: "polling" });
    cleanups.push(h.close);
    return h;
  }
  const ask = askAsOwner;

  it("shows trust at n=0 as — (null in JSON), and says what really demotes", async () => {
    const h = await harness();
    await queueTask(h.ctx, { title: "Nothing judged", type: "research", agent: "scout" }, "cli");
    // One approved content item (default tier quick): demotion needs 10 verdicts, so 9 more, 4 of them send-backs.
    const judged = await queueTask(h.ctx, { title: "Judged once", type: "content", agent: "writer" }, "cli");
    await runPass(h.ctx);
    await recordResult(h.ctx, judged, { markdown: "## Summary\nA post.", exitCode: 0 }, "cli");
    await recordVerdict(h.ctx, judged, "approved", null, "cli");
    const trust = await ask(h, "/trust");
    expect(trust).toContain("scout research: auto; default auto; approval: —, sendBack: —, n=0");
    expect(trust).toContain(
      "writer content: quick; default quick; approval: 100%, sendBack: 0%, n=1; next: 14 more approvals without a send-back to reach auto; 4 send-backs among the next 9 verdicts would drop it to gate",
    );
    const cli = await runCli(["trust", "--json"], { env: h.ws.env, cwd: h.ws.dir });
    const rows = JSON.parse(cli.stdout) as { agent: string; n: number; approvalRate: number | null; sendBackRate: number | null; next: string }[];
    expect(rows.find((r) => r.agent === "scout")).toMatchObject({ n: 0, approvalRate: null, sendBackRate: null });
    const table = (await runCli(["trust"], { env: h.ws.env, cwd: h.ws.dir })).stdout;
    expect(table).toMatch(/^scout\s+research\s+auto\s+auto\s+-\s+0\s+—\s+—\s/m);
  });

  it("says an unclaimed dispatch went back to the queue, and never shows its passed deadline as to come", async () => {
    const h = await harness();
    const id = await queueTask(h.ctx, { title: "Nobody claims me", type: "research", agent: "scout" }, "cli");
    await runPass(h.ctx);
    expect(await ask(h, `/why ${id}`)).toBe(`#${id}: dispatched at 22:00 (attempt 1); waiting for a runner to claim it until 22:02, else it goes back to the queue`);
    h.clock.advance(3 * 60_000);
    expect(await ask(h, `/why ${id}`)).toBe(
      `#${id}: dispatched at 22:00 (attempt 1); no runner claimed it by 22:02, so the next resolver pass puts it back in the queue (no attempt spent)`,
    );
    await runPass(h.ctx);
    await h.settle();
    expect(h.fake.messagesIn(CHAT).at(-1)!.text).toBe(`❌ #${id} Nobody claims me failed\nno runner claimed attempt 1 within 2 min: back in the queue (no attempt spent)`);
  });

  it("leaves diff: 0 files off a card, and says where the rest of a cut summary is", async () => {
    const h = await harness();
    const id = await queueTask(h.ctx, { title: "Long findings", type: "research", agent: "scout" }, "cli");
    await runPass(h.ctx);
    await claimRuns(h.ctx, { runner: "r1", slots: 1 });
    const summary = Array.from({ length: 40 }, (_, i) => `finding ${i + 1}`).join("\n");
    await reportRun(h.ctx, id, 1, "r1", { kind: "result", markdown: `## Summary\n${summary}`, exitCode: 0, durationMs: 1000, diffStat: { files: 0, insertions: 0, deletions: 0 }, usage: null });
    await h.settle();
    const card = cardOfTask(h.fake, id)!.text;
    expect(card).not.toContain("diff:");
    expect(card).toContain("finding 25 …");
    expect(card).not.toContain("finding 26");
    expect(card).toContain(`The summary is cut here. All of it: /show ${id}`);
    const shown = await ask(h, `/show ${id}`);
    expect(shown).toContain("finding 40");
  });

  it("lists the configured agents and types in /help, and refuses an unknown key:value in /task", async () => {
    const h = await harness();
    const help = await ask(h, "/help");
    expect(help).toContain("Agents: @builder, @writer, @scout");
    expect(help).toContain("Types: #code, #research, #content");
    const refused = await ask(h, "/task Fix login prority:2 #research @scout");
    expect(refused).toContain("prority: is not an option of /task (did you mean priority:?)");
    expect(await h.ctx.db.query("SELECT id FROM tasks")).toEqual([]);
  });
});
