import { Hono, type Context, type MiddlewareHandler } from "hono";
import { compress } from "hono/compress";
import { endTime, startTime, timing } from "hono/timing";
import type { Child } from "hono/jsx";
import type { AppContext } from "../../src/app/context.ts";
import { decideAttempt } from "../../src/app/review.ts";
import type { CardAction } from "../../src/chat/card-text.ts";
import { formatTime } from "../../src/chat/format.ts";
import { taskDiff } from "../../src/chat/views.ts";
import type { Verdict } from "../../src/domain/task/task.ts";
import { checkFormToken, checkKey, formToken, pageHref, pagePath, publicPathPrefix, type PageAccess, type PageRef } from "../../src/pages/links.ts";
import { reviewQueue, waitingQueue } from "../../src/pages/queues.ts";
import { taskPage } from "../../src/pages/task-page.ts";
import { keyForTelegramUser, pageActor } from "../../src/pages/telegram-access.ts";
import { trustHistories } from "../../src/pages/trust-history.ts";
import { NotFoundError, ValidationError, toCosError } from "../../src/shared/errors.ts";
import { statusOf } from "../http/errors.ts";
import { bodyBound, sameOriginForms } from "../http/guards.ts";
import { documentOf, type TabName, type Tabs } from "./layout.tsx";
import { QueueView, ReviewQueueView } from "./lists.tsx";
import { RefusalView } from "./refusal.tsx";
import { SCRIPT_HASH } from "./script.ts";
import { STYLE_HASH } from "./style.ts";
import { TaskView, type Outcome } from "./task.tsx";
import { TrustView } from "./trust.tsx";

// The review pages of DESIGN §13 under /pages: each GET checks its link's key and renders a view model
// from src/pages; each POST is a form from the page itself (same origin, the page's form token) and
// redirects back to the page. Refusals are pages too, saying how to get a fresh link.

const VERDICTS: Record<CardAction, Verdict> = { approve: "approved", send_back: "sent_back", discard: "discarded" };
/** A verdict form: notes of up to 100,000 characters, escaped. Telegram's sign-in: its initData. */
const FORM_MAX_BYTES = 256 * 1024;
const SIGN_IN_MAX_BYTES = 16 * 1024;

export function mountPages(app: Hono, ctx: AppContext): void {
  const pages = new Hono();
  const prefix = publicPathPrefix(ctx);
  const telegramOn = Boolean(ctx.env.TELEGRAM_BOT_TOKEN);

  pages.onError(async (error, c) => {
    const cos = toCosError(error);
    const next = pageOfPath(c.req.path);
    const telegram = telegramOn && next ? { action: `${prefix}/pages/telegram`, next } : null;
    return c.html(await documentOf(<RefusalView error={cos} telegram={telegram} />), statusOf(cos));
  });
  pages.use("*", timing({ crossOrigin: false }), compress(), async (c, next) => {
    await next();
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer");
    c.header("x-content-type-options", "nosniff");
    c.header(
      "content-security-policy",
      `default-src 'none'; style-src '${STYLE_HASH}'; script-src '${SCRIPT_HASH}'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'self' https://web.telegram.org`,
    );
  });
  // A form from another site, or one without the page's key, is refused before its body is read.
  pages.post("*", sameOriginForms(ctx.env.COS_PUBLIC_URL));

  const access = (c: Context, page: PageRef) => checkKey(ctx, c.req.query("k"), page);
  const tabs = (a: PageAccess, current: TabName | null, inReview?: number): Tabs | null =>
    a.scope.kind === "queue" ? { current, href: (tab) => pageHref(ctx, { page: tab }, a.key), ...(inReview === undefined ? {} : { inReview }) } : null;
  const taskHref = (a: PageAccess) => (id: number) => pageHref(ctx, { page: "task", taskId: id }, a.key);
  const html = async (c: Context, page: Child, status: 200 | 400 | 409 = 200) => {
    startTime(c, "render");
    const document = await documentOf(page);
    endTime(c, "render");
    return c.html(document, status);
  };
  /** Reads a page's view model, timed as `data` in the Server-Timing header beside `render` and `total`. */
  const data = async <T,>(c: Context, read: () => Promise<T>): Promise<T> => {
    startTime(c, "data");
    try {
      return await read();
    } finally {
      endTime(c, "data");
    }
  };

  pages.get("/review", async (c) => {
    const a = access(c, { page: "review" });
    const items = await data(c, () => reviewQueue(ctx));
    return html(c, <ReviewQueueView items={items} tabs={tabs(a, "review", items.length)!} taskHref={taskHref(a)} />);
  });

  pages.get("/queue", async (c) => {
    const a = access(c, { page: "queue" });
    return html(c, <QueueView items={await data(c, () => waitingQueue(ctx))} tabs={tabs(a, "queue")!} taskHref={taskHref(a)} />);
  });

  pages.get("/trust", async (c) => {
    const a = access(c, { page: "trust" });
    const tz = ctx.config.digest.timezone;
    return html(c, <TrustView histories={await data(c, () => trustHistories(ctx))} tabs={tabs(a, "trust")!} timeLabel={(iso) => formatTime(iso, tz)} />);
  });

  const renderTask = async (c: Context, a: PageAccess, id: number, outcome: Outcome, status: 200 | 400 | 409 = 200) => {
    const page = await data(c, () => taskPage(ctx, id));
    const links = {
      verdict: `${prefix}${pagePath({ page: "task", taskId: id })}/verdict?k=${a.key}`,
      patch: `${prefix}${pagePath({ page: "task", taskId: id })}/patch?k=${a.key}`,
      formToken: formToken(ctx, a.key, id, page.attempt),
    };
    return html(c, <TaskView page={page} links={links} tabs={tabs(a, null)} outcome={outcome} />, status);
  };

  pages.get("/task/:id", async (c) => {
    const id = taskId(c.req.param("id"));
    const a = access(c, { page: "task", taskId: id });
    const done = c.req.query("done");
    const outcome: Outcome = done === "stale" ? { kind: "stale" } : done && done in VERDICTS ? { kind: "done", verdict: done as CardAction } : null;
    return renderTask(c, a, id, outcome);
  });

  pages.get("/task/:id/patch", async (c) => {
    const id = taskId(c.req.param("id"));
    access(c, { page: "task", taskId: id });
    return c.body(await taskDiff(ctx, id), 200, {
      "content-type": "text/plain; charset=utf-8",
      "content-disposition": `inline; filename="task-${id}.patch"`,
    });
  });

  const taskAccess = (c: Context) => access(c, { page: "task", taskId: taskId(c.req.param("id") ?? "") });
  const keyFirst: MiddlewareHandler = async (c, next) => {
    taskAccess(c);
    await next();
  };
  pages.post("/task/:id/verdict", keyFirst, bodyBound(FORM_MAX_BYTES, "form"), async (c) => {
    const id = taskId(c.req.param("id"));
    const a = taskAccess(c);
    const form = await c.req.parseBody();
    const field = (name: string) => (typeof form[name] === "string" ? (form[name] as string) : "");
    const attempt = Number(field("attempt"));
    checkFormToken(ctx, field("f"), a.key, id, attempt);
    const action = field("verdict") as CardAction;
    if (!(action in VERDICTS)) throw new ValidationError(`"${action}" is not a verdict: approve, send_back or discard`);
    // A browser sends a textarea's line breaks as CRLF; the notes go to an agent's prompt as plain lines.
    const notes = field("notes").replace(/\r\n?/g, "\n").trim() || null;
    if (action === "send_back" && !notes) {
      return renderTask(c, a, id, { kind: "refused", message: "Write what the agent should change: the notes are what its next attempt starts from." }, 400);
    }
    const actor = await pageActor(ctx, field("initData") || null);
    try {
      const { decided } = await decideAttempt(ctx, id, attempt, VERDICTS[action], notes, actor);
      return c.redirect(pageHref(ctx, { page: "task", taskId: id }, a.key, { done: decided ? action : "stale" }), 303);
    } catch (error) {
      const cos = toCosError(error);
      // A refusal of the verdict itself (a merge conflict, a task that moved on): the page says it, above the task as it stands.
      if (cos.code !== "illegal_state" && cos.code !== "validation") throw error;
      return renderTask(c, a, id, { kind: "refused", message: cos.message }, statusOf(cos) as 400 | 409);
    }
  });

  pages.post("/telegram", bodyBound(SIGN_IN_MAX_BYTES, "form"), async (c) => {
    const form = await c.req.parseBody();
    const next = typeof form.next === "string" ? pageOfPath(`/pages${form.next.replace(/^\/pages/, "")}`) : null;
    const key = keyForTelegramUser(ctx, typeof form.initData === "string" ? form.initData : "");
    return c.redirect(`${prefix}${next ?? "/pages/review"}?k=${key}`, 303);
  });

  app.route("/pages", pages);
}

function taskId(raw: string): number {
  if (!/^\d{1,12}$/.test(raw) || Number(raw) < 1) throw new NotFoundError(`there is no task "${raw}"`);
  return Number(raw);
}

/** The page a request path is for (`/pages/task/42`), to come back to after Telegram's sign-in; null for anything else. */
function pageOfPath(path: string): string | null {
  const m = /^\/pages\/(review|queue|trust|task\/\d{1,12})(?:\/(?:verdict|patch))?\/?$/.exec(path);
  return m ? `/pages/${m[1]}` : null;
}

