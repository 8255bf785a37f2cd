import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { runPass } from "../../resolver/pass.ts";
import { loadTask, queueTask } from "../../src/app/tasks.ts";
import { pinTier } from "../../src/app/trust.ts";
import { cardOf } from "../../src/chat/cards.ts";
import { buildDispatchPrompt } from "../../src/prompt/build.ts";
import { loadPromptInput } from "../../src/prompt/load.ts";
import { LINK_LIFETIME_MS, signKey } from "../../src/pages/links.ts";
import { dataDirOf } from "../../src/shared/run-folder.ts";
import { tempWorkspace } from "../helpers.ts";
import {
  FORTY_VERDICTS,
  OWNER,
  PAGES_CONFIG,
  PUBLIC_URL,
  codeTaskInReview,
  decidedContentTask,
  formAction,
  formFields,
  pagesHarness,
  telegramInitData,
  type PagesHarness,
} from "./pages-kit.ts";

// The review pages of DESIGN §13 through hono's app.request: what they show, which links open them (and
// which are refused, with a page saying how to get a fresh one), and that their forms decide exactly as
// a tap on a card does, refusing forms from anywhere else.

const open: PagesHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});
async function harness(options: Parameters<typeof pagesHarness>[0] = {}) {
  const h = await pagesHarness(options);
  open.push(h);
  return h;
}

/** The path and key of a task card's link, as the card in chat carries it. */
async function cardPath(h: PagesHarness, id: number): Promise<string> {
  const url = cardOf(h.ctx, (await loadTask(h.ctx, id)).state)!.pageUrl!;
  expect(url.startsWith(`${PUBLIC_URL}/pages/task/${id}?k=t${id}.`)).toBe(true);
  return url.slice(PUBLIC_URL.length);
}

/** A harness with a code task in review (FILES), and the path of its page as the task's chat card links it. */
async function taskAndPagePath() {
  const h = await harness();
  const id = await codeTaskInReview(h, FILES);
  return { h, id, path: await cardPath(h, id) };
}

/** A code task in review and its page as it first loads, with the form a verdict is posted through. */
async function openedPage() {
  const task = await taskAndPagePath();
  return { ...task, html: await (await task.h.get(task.path)).text() };
}

const outboxUpdates = (h: PagesHarness, id: number) =>
  h.ctx.db.query<{ payload: string }>("SELECT payload FROM outbox WHERE kind = 'card_update' AND task_id = ? ORDER BY id", [id]);

const FILES = {
  "src/blog.ts": `/** The blog. */\nexport function render(post: string): string {\n  return \`<article>\${post}</article>\`;\n}\n`,
  "content/hello.mdx": "# Hello <b>&\n\nFirst post.\n",
};

describe("a task's review page", () => {
  it("opens from the card's link with no login and shows the result, every file and its added lines, highlighted", async () => {
    const h = await harness();
    const id = await codeTaskInReview(h, FILES, { summary: "Added <the> blog & more." });
    const res = await h.get(await cardPath(h, id));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain(`#${id} Add the blog`);
    expect(html).toContain("Added &lt;the&gt; blog &amp; more.");
    expect(html).toContain("Posts live in content/.");
    // The file list with +/−, then each file folded open with its lines.
    expect(html).toMatch(/<span class="path">content\/hello\.mdx<\/span><span class="plus">\+3<\/span><span class="minus">−0<\/span>/);
    expect(html).toContain('data-path="src/blog.ts"');
    expect(html).toContain('<p class="a"><i>2</i><span class="hljs-keyword">export</span> <span class="hljs-keyword">function</span>');
    // Text from the agent is escaped, never markup.
    expect(html).toContain('# Hello <span class="language-xml"><span class="hljs-tag">&lt;<span class="hljs-name">b</span>&gt;</span></span>&amp;');
    expect(html).not.toContain("<b>&");
    // The prompt the agent was given (its run folder's copy, whose hash matches), the log without colours, the timeline.
    expect(html).toContain("from its run folder");
    expect(html).toContain("Write the blog engine.");
    expect(html).toMatch(/<pre class="scroll">starting\nwrote the files\ndone<\/pre>/);
    expect(html).toContain("runner runner-1");
    expect(html).toMatch(/dispatched: attempt 1, tier gate, worktree/);
    // The verdict forms, in the card's words.
    for (const label of ["✅ Approve", "↩️ Send back", "🗑 Discard"]) expect(html).toContain(label);
  });

  it("says where the prompt comes from when this server has no run folder: rebuilt, and the same when its hash matches", async () => {
    const h = await harness();
    const id = await codeTaskInReview(h, FILES);
    const { rmSync } = await import("node:fs");
    rmSync(join(dataDirOf(h.ctx.config), "runs"), { recursive: true });
    const html = await (await h.get(await cardPath(h, id))).text();
    expect(html).toContain("rebuilt from the store; its hash matches");
    expect(html).toContain("No log of attempt 1 on this server.");
  });

  it("serves the raw patch behind the same key", async () => {
    const { h, path } = await taskAndPagePath();
    const patch = await h.get(path.replace("?", "/patch?"));
    expect(patch.status).toBe(200);
    expect(await patch.text()).toContain("+# Hello <b>&");
  });

  it("is phone-sized and small: under 300 KB gzipped for a 500-line diff, with security headers and no caching", async () => {
    const h = await harness();
    const lines = Array.from({ length: 500 }, (_, i) => `export const value${i} = "line ${i}"; // note ${i}`).join("\n");
    const id = await codeTaskInReview(h, { "src/values.ts": `${lines}\n` });
    const res = await h.get(await cardPath(h, id), { "accept-encoding": "gzip" });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBeLessThan(300 * 1024);
    const html = gunzipSync(body).toString("utf8");
    expect(html.match(/<p class="a">/g)).toHaveLength(500);
    expect(html).toContain('name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"');
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+';.*frame-ancestors 'self' https:\/\/web\.telegram\.org/);
  });
});

describe("links", () => {
  it("open the page they were signed for until they expire, and then a 401 page says how to get a fresh one", async () => {
    const { h, path } = await taskAndPagePath();
    h.clock.advance(LINK_LIFETIME_MS - 1000);
    expect((await h.get(path)).status).toBe(200);
    h.clock.advance(1000);
    const expired = await h.get(path);
    expect(expired.status).toBe(401);
    const html = await expired.text();
    expect(html).toContain("This page needs a fresh link");
    expect(html).toMatch(/This link expired at .* UTC; links last 7 days/);
    expect(html).toContain("<code>/review</code>");
  });

  it("refuse a changed signature, a changed expiry, a key of another task and a missing key, and record nothing", async () => {
    const h = await harness();
    const id = await codeTaskInReview(h, FILES);
    const other = await codeTaskInReview(h, { "b.txt": "b\n" }, { title: "Other" });
    const path = await cardPath(h, id);
    const key = new URL(path, PUBLIC_URL).searchParams.get("k")!;
    const [scope, expires, sig] = key.split(".") as [string, string, string];
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    for (const bad of [`${scope}.${expires}.${flip(sig)}`, `${scope}.${Number(expires) + 86400}.${sig}`, `t${other}.${expires}.${sig}`]) {
      const res = await h.get(`/pages/task/${id}?k=${bad}`);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("This link does not open this page");
    }
    // A task's key opens that task only: not another's page, not the queue.
    expect((await h.get(`/pages/task/${other}?k=${key}`)).status).toBe(403);
    expect((await h.get(`/pages/review?k=${key}`)).status).toBe(403);
    expect((await h.get(`/pages/task/${id}`)).status).toBe(401);
    // A verdict through a tampered link changes nothing.
    const html = await (await h.get(path)).text();
    const res = await h.post(formAction(html).replace(sig, flip(sig)), formFields(html, "approve"));
    expect(res.status).toBe(403);
    expect((await loadTask(h.ctx, id)).state.status).toBe("review");
    expect(await outboxUpdates(h, id)).toEqual([]);
  });

  it("are signed with a secret generated once into the data folder when COS_LINK_SECRET is unset, which every process there shares", async () => {
    const ws = tempWorkspace(PAGES_CONFIG);
    try {
      const first = await pagesHarness({ ws });
      const key = signKey(first.ctx, { kind: "queue" });
      await first.close();
      const file = join(ws.dir, "data", "link-secret");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = await pagesHarness({ ws });
      try {
        expect((await second.get(`/pages/review?k=${key}`)).status).toBe(200);
        expect(readFileSync(file, "utf8").trim().length).toBeGreaterThanOrEqual(40);
      } finally {
        await second.close();
      }
      // With COS_LINK_SECRET set, that secret signs, and keys made with the kept one are refused.
      const third = await pagesHarness({ ws, env: { COS_LINK_SECRET: "s".repeat(40) } });
      try {
        expect((await third.get(`/pages/review?k=${key}`)).status).toBe(403);
        expect((await third.get(`/pages/review?k=${signKey(third.ctx, { kind: "queue" })}`)).status).toBe(200);
      } finally {
        await third.close();
      }
    } finally {
      ws.cleanup();
    }
  });

  it("are not made without COS_PUBLIC_URL, and then no secret is written", async () => {
    const h = await harness({ env: { COS_PUBLIC_URL: "" } });
    const id = await codeTaskInReview(h, FILES);
    expect(cardOf(h.ctx, (await loadTask(h.ctx, id)).state)!.pageUrl).toBeNull();
    expect(existsSync(join(h.ws.dir, "data", "link-secret"))).toBe(false);
  });
});

describe("a verdict on the page", () => {
  it("approves as a tap does: merged, recorded for the link's holder, and the chat card edited through the outbox", async () => {
    const { h, id, path, html } = await openedPage();
    const res = await h.post(formAction(html), formFields(html, "approve"));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${path}&done=approve`);
    const { state } = await loadTask(h.ctx, id);
    expect(state.status).toBe("approved");
    expect(state.merge).not.toBeNull();
    expect(state.verdicts.at(-1)).toMatchObject({ verdict: "approved", by: "page", attempt: 1 });
    const updates = await outboxUpdates(h, id);
    expect(updates).toHaveLength(1);
    expect(JSON.parse(updates[0]!.payload).card.decided).toEqual({ verdict: "approved", by: { actor: "page", name: null }, notes: null });
    const after = await (await h.get(res.headers.get("location")!)).text();
    expect(after).toContain("✅ Approved. The chat card shows it.");
    expect(after).toContain("✅ Approved by the review page");
    expect(after).not.toContain('name="verdict"');
  });

  it("sends back with the notes typed on the page, which open the next attempt's prompt", async () => {
    const { h, id, html } = await openedPage();
    const empty = await h.post(formAction(html), { ...formFields(html, "send_back"), notes: "  " });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Write what the agent should change");
    const notes = "src/blog.ts:3: escape the post\ncontent/hello.mdx:1 (deleted line): keep the title";
    const res = await h.post(formAction(html), { ...formFields(html, "send_back"), notes });
    expect(res.status).toBe(303);
    const { state } = await loadTask(h.ctx, id);
    expect(state).toMatchObject({ status: "queued", attempt: 2 });
    const prompt = buildDispatchPrompt(await loadPromptInput(h.ctx.db, h.ctx.config, state, h.clock.now())).text;
    const quoted = "> src/blog.ts:3: escape the post\n> content/hello.mdx:1 (deleted line): keep the title";
    expect(prompt.indexOf(quoted)).toBeGreaterThan(-1);
    expect(prompt.indexOf(quoted)).toBeLessThan(prompt.indexOf("Add the blog"));
  });

  it("answers a stale attempt with 'already decided' and records nothing", async () => {
    const { h, id, path, html } = await openedPage();
    const discard = await h.post(formAction(html), formFields(html, "discard"));
    expect(discard.headers.get("location")).toContain("done=discard");
    // The same page, still open in another tab: its form is for an attempt already decided.
    const again = await h.post(formAction(html), formFields(html, "approve"));
    expect(again.status).toBe(303);
    expect(again.headers.get("location")).toBe(`${path}&done=stale`);
    expect((await loadTask(h.ctx, id)).state.verdicts.map((v) => v.verdict)).toEqual(["discarded"]);
    expect(await outboxUpdates(h, id)).toHaveLength(1);
    expect(await (await h.get(again.headers.get("location")!)).text()).toContain("Already decided: nothing was recorded.");
  });

  it("shows a verdict given in chat", async () => {
    const { h, id, path } = await taskAndPagePath();
    const { decideReview } = await import("../../src/app/review.ts");
    await decideReview(h.ctx, id, "discarded", "not needed", `user:telegram:${OWNER}`, 1);
    const html = await (await h.get(path)).text();
    expect(html).toContain(`🗑 Discarded by Telegram user ${OWNER}: not needed`);
    expect(html).not.toContain('name="verdict"');
  });

  it("refuses a form from another site or without the page's token, and records nothing", async () => {
    const { h, id, html } = await openedPage();
    const action = formAction(html);
    const fields = formFields(html, "approve");
    const foreign: Record<string, string>[] = [{}, { origin: "https://evil.example" }, { origin: "null" }, { "sec-fetch-site": "cross-site", origin: "https://evil.example" }];
    for (const headers of foreign) {
      const res = await h.post(action, fields, headers);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("sent from another site");
    }
    expect((await h.post(action, { ...fields, f: "x".repeat(32) })).status).toBe(403);
    // A body past the bound is refused (413), and one without the page's key before it is read (401).
    expect((await h.post(action, { ...fields, verdict: "send_back", notes: "n".repeat(300 * 1024) })).status).toBe(413);
    expect((await h.post(action.replace(/k=[^&]+/, ""), fields)).status).toBe(401);
    expect((await h.post(action, { ...fields, attempt: "2" })).status).toBe(403);
    expect((await loadTask(h.ctx, id)).state.status).toBe("review");
    // The public URL's origin is the page's own origin behind a proxy; Sec-Fetch-Site same-origin too.
    expect((await h.post(action, fields, { origin: PUBLIC_URL })).status).toBe(303);
  });
});

describe("Telegram's initData", () => {
  it("is traded for a fresh link when it is Telegram's, recent and from an allowed user", async () => {
    const h = await harness();
    const id = await codeTaskInReview(h, FILES);
    const initData = telegramInitData(OWNER, new Date(h.clock.now().getTime() - 3600_000));
    const res = await h.post("/pages/telegram", { initData, next: `/pages/task/${id}` });
    expect(res.status).toBe(303);
    const location = res.headers.get("location")!;
    expect(location).toMatch(new RegExp(`^/pages/task/${id}\\?k=q\\.`));
    expect((await h.get(location)).status).toBe(200);
    // The refusal page a Mini App lands on without a key carries the form that trades it.
    const refused = await (await h.get(`/pages/task/${id}`)).text();
    expect(refused).toContain('<form id="tg-auth" method="post" action="/pages/telegram">');
    expect(refused).toContain(`name="next" value="/pages/task/${id}"`);
  });

  it("is refused when changed, too old, from someone not allowed, or signed with another bot's token", async () => {
    const h = await harness();
    const now = h.clock.now();
    const good = telegramInitData(OWNER, now);
    const cases: [string, number][] = [
      [good.replace("first_name%22%3A%22Owner", "first_name%22%3A%22Eve"), 403],
      [telegramInitData(OWNER, new Date(now.getTime() - 25 * 3600_000)), 401],
      [telegramInitData(666, now), 403],
      [telegramInitData(OWNER, now, "999:other-bot"), 403],
      ["", 403],
    ];
    for (const [initData, status] of cases) {
      const res = await h.post("/pages/telegram", { initData, next: "/pages/review" });
      expect(res.status).toBe(status);
    }
    expect((await h.post("/pages/telegram", { initData: good, next: "/pages/review" })).status).toBe(303);
  });

  it("records a verdict given inside Telegram for the person Telegram vouches for", async () => {
    const { h, id, html } = await openedPage();
    const res = await h.post(formAction(html), { ...formFields(html, "approve"), initData: telegramInitData(OWNER, h.clock.now()) });
    expect(res.status).toBe(303);
    expect((await loadTask(h.ctx, id)).state.verdicts.at(-1)!.by).toBe(`user:telegram:${OWNER}`);
    // Named as Telegram named them, on the page and on the card the outbox edits.
    const page = await (await h.get(res.headers.get("location")!)).text();
    expect(page).toContain("✅ Approved by Owner");
  });
});

describe("the queue pages", () => {
  it("list every task in review, oldest result first, each one tap from its page, with tier, diff stat and auto-approval time", async () => {
    const h = await harness();
    const first = await codeTaskInReview(h, FILES, { title: "First" });
    h.clock.advance(60_000);
    const id = await queueTask(h.ctx, { title: "A post", type: "content", agent: "writer" }, "cli");
    await runPass(h.ctx);
    const { recordResult } = await import("../../src/app/tasks.ts");
    await recordResult(h.ctx, id, { markdown: "## Summary\nDrafted.", exitCode: 0 }, "cli");
    const key = signKey(h.ctx, { kind: "queue" });
    const html = await (await h.get(`/pages/review?k=${key}`)).text();
    expect(html).toContain("2 waiting for review");
    expect(html.indexOf(`#${first} First`)).toBeLessThan(html.indexOf(`#${id} A post`));
    expect(html).toContain(`href="/pages/task/${first}?k=${key}"`);
    expect(html).toContain("builder · code · tier gate · attempt 1");
    expect(html).toContain("diff: 2 files, +7 −0");
    expect(html).toContain("Waits for your verdict (tier gate");
    expect(html).toMatch(/writer · content · tier quick · attempt 1[\s\S]*⏱ Approved on its own at Wed 25 Nov 06:01 UTC/);
    // The queue key opens any task's page, with the tabs.
    const page = await (await h.get(`/pages/task/${id}?k=${key}`)).text();
    expect(page).toContain('<nav class="tabs">');
  });

  it("list every queued task with why it waits, in the words of cos why", async () => {
    const h = await harness();
    const blocker = await queueTask(h.ctx, { title: "Blocker", type: "research", agent: "scout" }, "cli");
    const waiting = await queueTask(h.ctx, { title: "Waits", type: "research", agent: "writer", blockedBy: [blocker] }, "cli");
    const html = await (await h.get(`/pages/queue?k=${signKey(h.ctx, { kind: "queue" })}`)).text();
    expect(html).toContain("2 queued");
    expect(html).toContain(`#${waiting} Waits`);
    expect(html).toContain(`waiting for #${blocker} (queued)`);
    expect(html).toContain("ready: the next resolver pass dispatches it");
  });

  it("draw the trust history of an agent with 40 verdicts and two tier changes, with a pin and what the next change needs", async () => {
    const h = await harness();
    for (const verdict of FORTY_VERDICTS) await decidedContentTask(h.ctx, "writer", verdict);
    await pinTier(h.ctx, "scout", "research", "gate", "cli");
    const html = await (await h.get(`/pages/trust?k=${signKey(h.ctx, { kind: "queue" })}`)).text();
    const chart = html.slice(html.indexOf("<h2>writer · content</h2>"));
    const svg = chart.slice(chart.indexOf("<svg"), chart.indexOf("</svg>"));
    expect(svg).toContain("approval and send-back rates over 40 verdicts, 2 tier changes");
    expect(svg.match(/<rect class="v-/g)).toHaveLength(40);
    expect(svg.match(/<line class="mark trust"/g)).toHaveLength(2);
    expect(svg).toContain("quick→auto 93%, 10%, n=15");
    expect(svg).toMatch(/auto→quick \d+%, \d+%, n=20/);
    expect(svg.match(/<polyline class="(approval|sendback)" points="[^"]+"/g)).toHaveLength(2);
    expect(chart).toContain("after verdict 15");
    expect(chart).toContain("quick → auto by trust (approval: 93%, sendBack: 10%, n=15)");
    expect(chart).toMatch(/<b>Next:<\/b> \d+ more approvals? without a send-back to reach auto/);
    expect(html).toContain("<h2>scout · research</h2>");
    expect(html).toContain("pinned at gate (wins over trust until cleared)");
  });
});
