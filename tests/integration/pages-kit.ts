import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Hono } from "hono";
import { createHttpApp } from "../../handlers/http/app.ts";
import { runPass } from "../../resolver/pass.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { reportRun } from "../../src/app/runs.ts";
import { cancelTask, loadTask, queueTask, recordResult } from "../../src/app/tasks.ts";
import { decideReview } from "../../src/app/review.ts";
import { parseEnv } from "../../src/config/env.ts";
import type { Verdict } from "../../src/domain/task/task.ts";
import { buildDispatchPrompt } from "../../src/prompt/build.ts";
import { loadPromptInput } from "../../src/prompt/load.ts";
import { dataDirOf, runDirOf, runFiles } from "../../src/shared/run-folder.ts";
import { movableClock, tempWorkspace, type MovableClock, type TempWorkspace } from "../helpers.ts";
import { CONFIG, OWNER, PUBLIC_URL } from "./telegram-kit.ts";
// git-repo-kit, not git-kit: git-kit registers vitest hooks, and the bench (npm run bench -- pages) imports this kit outside vitest.
import { gitAs, initRepo } from "./git-repo-kit.ts";

// The review pages in-process (hono's app.request) on a real store, a real git repository for code tasks,
// and a clock the test moves. Telegram is configured (a token, an allowlist, a private chat) so that the
// outbox writes the card notifications a verdict causes, and so that initData can be checked.

/** The Telegram tests' owner, public URL and configuration (three agents, the project `site` at ./site). */
export { CONFIG as PAGES_CONFIG, OWNER, PUBLIC_URL };
export const BOT_TOKEN = "123456:TEST-token_abc";

export interface PagesHarness {
  ctx: AppContext;
  app: Hono;
  ws: TempWorkspace;
  clock: MovableClock;
  /** GET a path (`/pages/…?k=…`) as a same-origin browser would. */
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** POST a form; by default with the page's own Origin, as a browser sends a form from the page. */
  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export async function pagesHarness(options: { env?: Record<string, string>; ws?: TempWorkspace } = {}): Promise<PagesHarness> {
  const ws = options.ws ?? tempWorkspace(CONFIG);
  const clock = movableClock("2026-11-23T22:00:00.000Z");
  const env = parseEnv({
    ...ws.env,
    COS_PUBLIC_URL: PUBLIC_URL,
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_ALLOWED_USER_IDS: String(OWNER),
    TELEGRAM_CHAT_ID: String(OWNER),
    ...options.env,
  });
  const ctx = await openApp({ env, cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
  const app = createHttpApp(ctx);
  const base = "http://127.0.0.1:8787";
  return {
    ctx,
    app,
    ws,
    clock,
    get: async (path, headers = {}) => app.request(`${base}${path}`, { headers }),
    post: async (path, form, headers = { origin: base }) =>
      app.request(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(form).toString(),
      }),
    close: async () => {
      await ctx.db.close();
      if (!options.ws) ws.cleanup();
    },
  };
}

/** The project's repository (`<ws>/site`), made with one commit on main the first time. */
export function siteRepo(ws: TempWorkspace): string {
  const repo = join(ws.dir, "site");
  return existsSync(join(repo, ".git")) ? repo : initRepo(repo);
}

/**
 * A code task whose branch writes `files`, dispatched and reported as a worktree run leaves it, in review.
 * Its run folder holds the prompt it was given and a log with a terminal's colours, as a runner writes them.
 */
export async function codeTaskInReview(
  h: Pick<PagesHarness, "ctx" | "ws" | "clock">,
  files: Record<string, string>,
  options: { title?: string; summary?: string; log?: string; agent?: string } = {},
): Promise<number> {
  const agent = options.agent ?? "builder";
  const id = await queueTask(h.ctx, { title: options.title ?? "Add the blog", type: "code", agent, description: "Write the blog engine." }, "cli");
  const repo = siteRepo(h.ws);
  gitAs(repo, "checkout", "-q", "-b", `cos/task-${id}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  gitAs(repo, "add", ".");
  gitAs(repo, "commit", "-q", "-m", `task ${id}`);
  gitAs(repo, "checkout", "-q", "main");
  await runPass(h.ctx);
  const { state } = await loadTask(h.ctx, id);
  if (state.status !== "dispatched") throw new Error(`#${id} was not dispatched (${state.status}): is ${agent} busy with another task?`);
  const prompt = buildDispatchPrompt(await loadPromptInput(h.ctx.db, h.ctx.config, state, h.clock.now()), h.ctx.config.prompt.budgetTokens);
  const run = runFiles(runDirOf(dataDirOf(h.ctx.config), { taskId: id, attempt: state.attempt }));
  mkdirSync(dirname(run.promptFile), { recursive: true });
  writeFileSync(run.promptFile, prompt.text);
  writeFileSync(run.logPath, options.log ?? "\u001b[32mstarting\u001b[0m\nwrote the files\ndone\n");
  await reportRun(h.ctx, id, state.attempt, "runner-1", {
    kind: "result",
    markdown: `## Summary\n${options.summary ?? "Added the blog engine."}\n## Handoff\nPosts live in content/.\n## What Worked\nSmall commits.`,
    exitCode: 0,
    durationMs: 1000,
    diffStat: diffStatOf(repo, id),
    usage: null,
  });
  return id;
}

/** The diff stat a worktree run records: the branch against main, by git. */
function diffStatOf(repo: string, id: number) {
  const rows = gitAs(repo, "diff", "--numstat", `main...cos/task-${id}`).split("\n").filter(Boolean);
  const counts = rows.map((r) => r.split("\t").map(Number));
  return { files: rows.length, insertions: counts.reduce((n, c) => n + (c[0] || 0), 0), deletions: counts.reduce((n, c) => n + (c[1] || 0), 0) };
}

/** A content task for `agent` with a result, decided `verdict` by a person; a sent-back one is cancelled, to free the agent. */
export async function decidedContentTask(ctx: AppContext, agent: string, verdict: Verdict): Promise<number> {
  const id = await queueTask(ctx, { title: `Post ${Math.random().toString(36).slice(2, 7)}`, type: "content", agent }, "cli");
  await runPass(ctx);
  await recordResult(ctx, id, { markdown: "## Summary\nA post.", exitCode: 0 }, "cli");
  await decideReview(ctx, id, verdict, verdict === "sent_back" ? "tighten it" : null, `user:telegram:${OWNER}`);
  if (verdict === "sent_back") await cancelTask(ctx, id, "test", "cli");
  return id;
}

/** Forty verdicts whose trust moves twice: quick → auto after 15 approvals, back to quick as send-backs and discards come. */
export const FORTY_VERDICTS: Verdict[] = [
  ...Array.from({ length: 20 }, (_, i): Verdict => (i === 6 ? "sent_back" : "approved")),
  ...Array.from({ length: 20 }, (_, i) => (["approved", "discarded", "approved", "sent_back", "approved"] as Verdict[])[i % 5]!),
];

/** The hidden fields of a page's form for `verdict`, as a browser would send them. */
export function formFields(html: string, verdict: "approve" | "send_back" | "discard"): Record<string, string> {
  const forms = html.split("<form").slice(1);
  const form = forms.find((f) => f.includes(`name="verdict" value="${verdict}"`));
  if (!form) throw new Error(`no ${verdict} form on the page`);
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)"/g)) fields[m[1]!] = m[2]!.replace(/&amp;/g, "&");
  return fields;
}

/** The action of the page's verdict form. */
export function formAction(html: string): string {
  const m = /<form method="post" action="([^"]+\/verdict\?k=[^"]+)"/.exec(html);
  if (!m) throw new Error("no verdict form on the page");
  return m[1]!.replace(/&amp;/g, "&");
}

/**
 * initData as a Telegram client hands it to a Mini App, signed here step by step as Telegram's
 * documentation describes (independently of the server's check): the fields but `hash`, sorted, as
 * key=value lines; HMAC-SHA256 of that under HMAC-SHA256("WebAppData", bot token); hex.
 */
export function telegramInitData(userId: number, authDate: Date, botToken = BOT_TOKEN, extra: Record<string, string> = {}): string {
  const fields: Record<string, string> = {
    query_id: "AAHdF6IQAAAAAN0XohDhrOrc",
    user: JSON.stringify({ id: userId, first_name: "Owner", username: "owner", language_code: "en" }),
    auth_date: String(Math.floor(authDate.getTime() / 1000)),
    ...extra,
  };
  const checkString = Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join("\n");
  const secret = createHmac("sha256", "WebAppData").update(botToken).digest();
  const hash = createHmac("sha256", secret).update(checkString).digest("hex");
  return new URLSearchParams({ ...fields, hash }).toString();
}
