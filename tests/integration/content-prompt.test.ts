import { afterEach, describe, expect, it } from "vitest";
import { reportSignal, saveContentItem } from "../../src/app/content.ts";
import { loadTask, queueTask } from "../../src/app/tasks.ts";
import { buildDispatchPrompt } from "../../src/prompt/build.ts";
import { loadPromptInput } from "../../src/prompt/load.ts";
import { tempApp } from "../helpers.ts";
import { MCP_TEST_CONFIG } from "./mcp-kit.ts";
import { liveAndRebuilt } from "./store-helpers.ts";

describe("a content task's prompt", () => {
  let app: Awaited<ReturnType<typeof tempApp>> | null = null;
  afterEach(async () => {
    await app?.close();
    app = null;
  });

  it("summarises the last 30 days of its project's signals; other tasks and projects get none of them", async () => {
    app = await tempApp(MCP_TEST_CONFIG);
    const { ctx } = app;
    const post = (await saveContentItem(ctx, "site", { title: "Launch post", channel: "blog", status: "published" }, "cli", null)).item;
    const thread = (await saveContentItem(ctx, "site", { title: "Launch thread", channel: "x" }, "cli", null)).item;
    const theirs = (await saveContentItem(ctx, "shop", { title: "Shop news", channel: "blog" }, "cli", null)).item;
    await reportSignal(ctx, "site", { itemId: post.id, metric: "views", value: 900, at: "2026-11-20T10:00:00Z" }, "cli", null);
    await reportSignal(ctx, "site", { itemId: post.id, metric: "views", value: 300, at: "2026-11-22T10:00:00Z" }, "cli", null);
    await reportSignal(ctx, "site", { itemId: thread.id, metric: "likes", value: 12, at: "2026-11-23T10:00:00Z" }, "cli", null);
    await reportSignal(ctx, "site", { itemId: post.id, metric: "views", value: 5000, at: "2026-10-01T10:00:00Z" }, "cli", null);
    await reportSignal(ctx, "shop", { itemId: theirs.id, metric: "views", value: 77, at: "2026-11-22T10:00:00Z" }, "cli", null);

    const content = await queueTask(ctx, { title: "Next post", type: "content", agent: "writer", project: "site" }, "cli");
    const research = await queueTask(ctx, { title: "Look around", type: "research", agent: "writer", project: "site" }, "cli");
    const promptOf = async (id: number) =>
      buildDispatchPrompt(await loadPromptInput(ctx.db, ctx.config, (await loadTask(ctx, id)).state, ctx.clock()), ctx.config.prompt.budgetTokens).text;

    const text = await promptOf(content);
    expect(text).toContain(
      [
        "# Signals (last 30 days)",
        "",
        "- blog: 1 item, 2 signals; views 1,200",
        "- x: 1 item, 1 signal; likes 12",
        `- #${thread.id} "Launch thread" (x, draft): likes 12 in 1 signal; last 2026-11-23`,
        `- #${post.id} "Launch post" (blog, published): views 1,200 in 2 signals; last 2026-11-22`,
      ].join("\n"),
    );
    expect(text).not.toContain("Shop news");
    expect(text).not.toContain("5,000");
    expect(await promptOf(research)).not.toContain("Signals");

    const { live, rebuilt, rebuiltInWorker } = await liveAndRebuilt(ctx.db);
    expect(rebuilt).toEqual(live);
    expect(rebuiltInWorker).toEqual(live);
    expect(live.content_signals).toHaveLength(5);
  });
});
