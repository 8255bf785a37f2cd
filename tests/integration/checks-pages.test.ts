import { afterEach, describe, expect, it } from "vitest";
import { loadTask, queueTask } from "../../src/app/tasks.ts";
import { cardOf } from "../../src/chat/cards.ts";
import { signKey } from "../../src/pages/links.ts";
import { tempWorkspace } from "../helpers.ts";
import { checksConfig, FAILS, nodeCheck, PASSES, passAndRun, siteRepo } from "./checks-kit.ts";
import { pagesHarness, PUBLIC_URL, type PagesHarness } from "./pages-kit.ts";

// Issue 16 on the review pages (DESIGN §13): the task's page and the review queue show the checks and flags in
// the card's words; the page opens each failed check with the end of its log, before the summary.

const open: PagesHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

describe("the review packet on the pages", () => {
  it("the task's page shows each check, a failed one open with the end of its log, and the flags; the review queue the checks line", async () => {
    const noisy = nodeCheck("lint", "for (let i = 1; i <= 60; i++) console.log('warning ' + i); console.log('src/a.ts:3 unused variable x'); process.exit(1)");
    const ws = tempWorkspace(checksConfig([PASSES("test"), noisy], { agentArgs: ["write:migrations/0007_add.sql=select 1;\\n"] }));
    const h = await pagesHarness({ ws });
    open.push(h);
    siteRepo(ws.dir);
    const id = await queueTask(h.ctx, { title: "Add a page", type: "code", agent: "builder", tier: "quick" }, "cli");
    await passAndRun(h.ctx, ws.dir);
    expect((await loadTask(h.ctx, id)).state.status).toBe("review");

    const url = cardOf(h.ctx, (await loadTask(h.ctx, id)).state)!.pageUrl!;
    const html = await (await h.get(url.slice(PUBLIC_URL.length))).text();
    expect(html).toMatch(/<p class="meta">✓ test \d+\.\d s · ✗ lint<\/p>/);
    expect(html).toContain('<p class="meta">⚑ sensitive: migrations/0007_add.sql</p>');
    expect(html).toContain("⏱ Not approved on its own: a check failed, so a person decides.");
    expect(html).toMatch(/<details open=""><summary>✗ lint<\/summary><div class="body"><p class="meta">exit code 1 after [\d.]+ s<\/p><p class="meta">The last 61 lines of its log.<\/p><pre class="scroll">warning 1\n/);
    expect(html).toContain("warning 60\nsrc/a.ts:3 unused variable x</pre>");
    expect(html).toMatch(/<details><summary>✓ test \d+\.\d s<\/summary>/);
    expect(html.indexOf("<h2>Checks</h2>")).toBeLessThan(html.indexOf("<h2>Summary</h2>"));

    const queue = await (await h.get(`/pages/review?k=${signKey(h.ctx, { kind: "queue" })}`)).text();
    expect(queue).toMatch(/✓ test \d+\.\d s · ✗ lint/);
    expect(queue).toContain("⚑ sensitive: migrations/0007_add.sql");
  });

  it("a run that changed nothing says on its page that its checks did not run", async () => {
    const ws = tempWorkspace({
      ...checksConfig([FAILS("lint")]),
      agents: { builder: { command: [process.execPath, "-e", "console.log('## Summary\\nNothing to change.')"] } },
    });
    const h = await pagesHarness({ ws });
    open.push(h);
    siteRepo(ws.dir);
    const id = await queueTask(h.ctx, { title: "Look around", type: "code", agent: "builder" }, "cli");
    await passAndRun(h.ctx, ws.dir);
    const html = await (await h.get(`/pages/task/${id}?k=${signKey(h.ctx, { kind: "queue" })}`)).text();
    expect(html).toContain("checks not run: the run changed nothing");
    expect(html).not.toContain("<h2>Checks</h2>");
  });
});
