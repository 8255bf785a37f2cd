import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page, type Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelTask, loadTask, queueTask } from "../../src/app/tasks.ts";
import { LINK_LIFETIME_MS } from "../../src/pages/links.ts";
import { warmHighlighter } from "../../src/pages/highlight.ts";
import { buildDispatchPrompt } from "../../src/prompt/build.ts";
import { loadPromptInput } from "../../src/prompt/load.ts";
import { codeTaskInReview, decidedContentTask, FORTY_VERDICTS, telegramInitData } from "./pages-kit.ts";
import { CONFIG, OWNER, PUBLIC_URL, startHarness, type Harness } from "./telegram-kit.ts";

// The Must-hold of issue #15 in a real browser: Debian's chromium, driven by playwright-core at a phone's
// viewport (390×844, touch), against `cos serve`'s HTTP app on loopback with the fake Bot API. A card's
// link (in the private chat: a Mini App button, opened as Telegram opens one, with its signed initData in
// the fragment) opens the page with no login; the page shows every file and its added lines, does not
// scroll sideways, weighs under 300 KB; Approve, Send back with notes typed on the page, and Discard each
// edit the chat card; a tampered link and an expired one are refused. The screenshots go to a folder
// this test prints; the page weights and server times it measured are printed too.

/** Debian's chromium; COS_CHROMIUM names another build of it. */
const CHROMIUM = process.env.COS_CHROMIUM ?? "/usr/bin/chromium";
const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (Debian: apt-get install chromium; .ci/run installs it when missing)`;
if (missing) console.warn(`pages-browser: the browser tests are skipped: ${missing}`);


describe.skipIf(missing !== null)("the review pages in a phone-sized browser", () => {
  let h: Harness;
  let browser: BrowserContext;
  let profile: string;
  const measured: string[] = [];
  /** Where the screenshots go: COS_SCREENSHOT_DIR, else a new temp folder; printed either way. */
  let shots: string;

  beforeAll(async () => {
    shots = process.env.COS_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), "cos-page-shots-"));
    mkdirSync(shots, { recursive: true });
    console.log(`pages-browser: screenshots in ${shots}`);
    // The bot's chat is the owner's private chat: cards carry the page as a Mini App button.
    // One agent per code task, so that no test waits for another's task to leave its agent free.
    const agents = Object.fromEntries(["builder", "writer", "scout", "fixer", "tidier", "checker"].map((a) => [a, { command: ["true"] }]));
    h = await startHarness({ mode: "webhook", env: { TELEGRAM_CHAT_ID: String(OWNER) }, config: { ...CONFIG, agents } });
    // As cos serve does at start, so the measured times are a running server's.
    await warmHighlighter();
    profile = mkdtempSync(join(tmpdir(), "cos-chromium-"));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: "light",
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await h?.close();
    if (measured.length) console.log(`pages-browser: measured\n  ${measured.join("\n  ")}`);
  });

  /** The card the outbox posted for a task in the owner's chat. */
  const card = (id: number) => h.fake.messagesIn(OWNER).find((m) => m.text.startsWith(`#${id} `))!;

  /** The card's Mini App button, pointed at this server (as the proxy behind COS_PUBLIC_URL would). */
  function cardLink(id: number): string {
    const rows = (card(id).replyMarkup as { inline_keyboard: { web_app?: { url: string } }[][] }).inline_keyboard;
    const url = rows.flat().find((b) => b.web_app)!.web_app!.url;
    return url.replace(PUBLIC_URL, `http://127.0.0.1:${h.server!.port}`);
  }

  /** Opens `url` as Telegram opens a Mini App: the launch parameters, initData among them, in the fragment. */
  async function openAsMiniApp(page: Page, url: string): Promise<Response> {
    const launch = new URLSearchParams({ tgWebAppData: telegramInitData(OWNER, h.clock.now()), tgWebAppVersion: "8.0", tgWebAppPlatform: "android" });
    return (await page.goto(`${url}#${launch}`))!;
  }

  async function weigh(what: string, response: Response): Promise<number> {
    const sizes = await response.request().sizes();
    const timing = response.headers()["server-timing"] ?? "";
    const total = /dur=([\d.]+)/.exec(timing)?.[1];
    measured.push(`${what}: ${(sizes.responseBodySize / 1024).toFixed(1)} KB transferred (${response.headers()["content-encoding"] ?? "identity"}), server ${total ?? "?"} ms`);
    return sizes.responseBodySize;
  }

  async function noSidewaysScroll(page: Page): Promise<void> {
    const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(scroll).toBeLessThanOrEqual(client);
  }

  const shot = (page: Page, name: string, fullPage = false) => page.screenshot({ path: join(shots, `${name}.png`), fullPage });

  const FILES = {
    "src/blog.ts": [
      "/** Renders a post. */",
      "export function render(post: string): string {",
      "  return `<article>${post}</article>`;",
      "}",
      `export const LONG_LINE = "${"a long line that must scroll inside its own box, never the page ".repeat(4)}";`,
      "",
    ].join("\n"),
    "content/hello.mdx": "# Hello <b>&\n\nFirst post.\n",
    "README.md": "The site\n\nNow with a blog.\n",
  };

  it("approves from the card's Mini App button: no login, every file and its lines, no sideways scroll, and the card is edited", async () => {
    const id = await codeTaskInReview(h, FILES, { title: "Add the blog" });
    await h.settle();
    const page = await browser.newPage();
    const response = await openAsMiniApp(page, cardLink(id));
    expect(response.status()).toBe(200);
    expect(await weigh("task page, 3 files", response)).toBeLessThan(300 * 1024);
    await expect(page.locator("h1").textContent()).resolves.toBe(`#${id} Add the blog`);
    for (const path of Object.keys(FILES)) await expect(page.locator(`ol.files .path:text-is("${path}")`).count()).resolves.toBe(1);
    const added = Object.values(FILES).reduce((n, c) => n + c.split("\n").length - 1, 0);
    expect(await page.locator(".lines p.a").count()).toBe(added);
    expect(await page.locator(".lines p.d").count()).toBe(1);
    await expect(page.locator('details[data-path="src/blog.ts"] .lines').textContent()).resolves.toContain("export function render");
    await noSidewaysScroll(page);
    // The long line scrolls inside its file's box.
    const box = await page.locator('details[data-path="src/blog.ts"] .code').evaluate((e) => ({ scroll: e.scrollWidth, client: e.clientWidth }));
    expect(box.scroll).toBeGreaterThan(box.client);
    await shot(page, "01-task-top");
    await shot(page, "02-task-full", true);

    await Promise.all([page.waitForURL(/done=approve/), page.locator(".bar button.primary").tap()]);
    await expect(page.locator(".banner.ok").textContent()).resolves.toContain("Approved");
    await shot(page, "03-task-approved");
    await h.settle();
    expect((await loadTask(h.ctx, id)).state.status).toBe("approved");
    const edited = card(id);
    expect(edited.text).toContain("✅ Approved by Owner");
    expect((edited.replyMarkup as { inline_keyboard: unknown[][] }).inline_keyboard.flat()).toHaveLength(1);
    await page.close();
  }, 120_000);

  it("sends back with notes typed on the page, a tapped line adding its path:line, and they open the next prompt", async () => {
    const feed = ["/** The feed. */", "export function feed(posts: string[]): string {", "  return posts.join(\"\\n\");", "}", ""].join("\n");
    const id = await codeTaskInReview(h, { "src/feed.ts": feed, "README.md": "The site, with a feed\n" }, { title: "Add a feed", agent: "fixer" });
    await h.settle();
    const page = await browser.newPage();
    await page.goto(cardLink(id));
    await page.locator('details[data-path="src/feed.ts"] .lines p.a').nth(2).tap();
    await expect(page.locator("#notes").inputValue()).resolves.toBe("src/feed.ts:3: ");
    await page.keyboard.type("escape the post before it goes into the HTML");
    await page.locator("[data-close]").tap();
    await page.locator('details[data-path="README.md"] .lines p.d').first().tap();
    await page.keyboard.type("keep the old title");
    await shot(page, "04-send-back-notes");
    const notes = "src/feed.ts:3: escape the post before it goes into the HTML\nREADME.md:1 (deleted line): keep the old title";
    await expect(page.locator("#notes").inputValue()).resolves.toBe(notes);
    await Promise.all([page.waitForURL(/done=send_back/), page.locator("#sendback button:not([type=button])").tap()]);
    await shot(page, "05-sent-back");
    await h.settle();
    // Opened from a link outside the Mini App: the verdict is the link holder's.
    expect(card(id).text).toContain(`↩️ Sent back by the review page: ${notes}`);
    const { state } = await loadTask(h.ctx, id);
    expect(state).toMatchObject({ status: "queued", attempt: 2 });
    const prompt = buildDispatchPrompt(await loadPromptInput(h.ctx.db, h.ctx.config, state, h.clock.now())).text;
    expect(prompt).toContain(notes.split("\n").map((l) => `> ${l}`).join("\n"));
    // The next attempt would keep the builder busy; the tests after this one need it.
    await cancelTask(h.ctx, id, "the test is done with it", "cli");
    await page.close();
  }, 120_000);

  it("discards a 500-line change, weighing under 300 KB, and the card is edited", async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `export const value${i} = compute(${i}, "line ${i}"); // why ${i}`).join("\n");
    const id = await codeTaskInReview(h, { "src/values.ts": `${lines}\n` }, { title: "Generate the values", agent: "tidier" });
    await h.settle();
    const page = await browser.newPage();
    const response = await page.goto(cardLink(id));
    expect(await weigh("task page, a 500-line diff", response!)).toBeLessThan(300 * 1024);
    expect(await page.locator(".lines p.a").count()).toBe(500);
    await noSidewaysScroll(page);
    await page.locator('.bar a[href="#discard"]').tap();
    await shot(page, "06-discard");
    await Promise.all([page.waitForURL(/done=discard/), page.locator("#discard button.danger").tap()]);
    await h.settle();
    expect(card(id).text).toContain("🗑 Discarded by the review page");
    await page.close();
  }, 120_000);

  it("shows the review queue, the queue and a trust history of 40 verdicts with two tier changes, in light and dark", async () => {
    await codeTaskInReview(h, { "notes.md": "# Notes\n" }, { title: "Write the notes", agent: "scout" });
    for (const verdict of FORTY_VERDICTS) await decidedContentTask(h.ctx, "writer", verdict);
    const research = await queueTask(h.ctx, { title: "Research the launch channels", type: "research", agent: "tidier" }, "cli");
    await queueTask(h.ctx, { title: "Draft the launch post", type: "content", agent: "writer", blockedBy: [research] }, "cli");
    await h.send({ message: { message_id: 9001, date: 0, chat: { id: OWNER, type: "private" }, from: { id: OWNER, is_bot: false, first_name: "Owner" }, text: "/review", entities: [{ type: "bot_command", offset: 0, length: 7 }] } });
    await h.settle();
    const reply = h.fake.messagesIn(OWNER).filter((m) => m.text.includes("waiting for review")).at(-1)!;
    const queueUrl = (reply.replyMarkup as { inline_keyboard: { web_app?: { url: string } }[][] }).inline_keyboard[0]![0]!.web_app!.url;
    const local = queueUrl.replace(PUBLIC_URL, `http://127.0.0.1:${h.server!.port}`);
    const page = await browser.newPage();
    const review = await page.goto(local);
    await weigh("review queue", review!);
    await noSidewaysScroll(page);
    await shot(page, "07-review-queue");
    await Promise.all([page.waitForURL(/\/pages\/queue/), page.locator('nav.tabs a:text-is("Queue")').tap()]);
    await noSidewaysScroll(page);
    await shot(page, "08-queue");
    await Promise.all([page.waitForURL(/\/pages\/trust/), page.locator('nav.tabs a:text-is("Trust")').tap()]);
    await noSidewaysScroll(page);
    expect(await page.locator("svg.chart line.mark").count()).toBeGreaterThanOrEqual(2);
    await shot(page, "09-trust", true);
    await page.locator('section:has(h2:text-is("writer · content"))').screenshot({ path: join(shots, "09b-trust-writer.png") });
    await page.emulateMedia({ colorScheme: "dark" });
    await shot(page, "10-trust-dark");
    await page.goto(local);
    await Promise.all([page.waitForURL(/\/pages\/task\//), page.locator("ul.list a").first().tap()]);
    await shot(page, "11-task-dark");
    await page.close();
  }, 180_000);

  it("signs in a Mini App opened without a key (the bot's menu button) with Telegram's initData, and no one else", async () => {
    const page = await browser.newPage();
    const base = `http://127.0.0.1:${h.server!.port}`;
    await openAsMiniApp(page, `${base}/pages/review`);
    await page.waitForURL(/\/pages\/review\?k=q\./);
    await expect(page.locator("h1").textContent()).resolves.toMatch(/waiting for review|Nothing waits/);
    await shot(page, "14-menu-button-signed-in");
    // Outside Telegram (no initData), the same address stays refused.
    const plain = await browser.newPage();
    expect((await plain.goto(`${base}/pages/review`))!.status()).toBe(401);
    await plain.close();
    await page.close();
  }, 120_000);

  it("refuses a tampered link and an expired one, saying how to get a fresh one, and records nothing", async () => {
    const id = await codeTaskInReview(h, { "x.txt": "x\n" }, { title: "Small change", agent: "checker" });
    await h.settle();
    const link = cardLink(id);
    const page = await browser.newPage();
    const tampered = link.replace(/k=(t\d+\.\d+\.)(.)/, (_m, head: string, c: string) => `k=${head}${c === "A" ? "B" : "A"}`);
    const forged = await page.goto(tampered);
    expect(forged!.status()).toBe(403);
    await expect(page.locator("h1").textContent()).resolves.toBe("This link does not open this page");
    await expect(page.locator("main").textContent()).resolves.toContain("/review");
    await noSidewaysScroll(page);
    await shot(page, "12-tampered");
    h.clock.advance(LINK_LIFETIME_MS);
    const expired = await page.goto(link);
    expect(expired!.status()).toBe(401);
    await expect(page.locator(".banner.bad").textContent()).resolves.toMatch(/This link expired at .* UTC; links last 7 days/);
    await shot(page, "13-expired");
    expect((await loadTask(h.ctx, id)).state.status).toBe("review");
    await page.close();
  }, 120_000);
});
