import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { queueTask, recordResult } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { runPass } from "../../resolver/pass.ts";
import { createHttpApp } from "../../handlers/http/app.ts";
import { startHttp, type Server } from "../../handlers/http/serve.ts";
import { startTelegram, type TelegramService } from "../../handlers/telegram/index.ts";
import { messageUpdate, startFakeTelegram, type FakeTelegram } from "../fixtures/fake-telegram.ts";
import { localPort } from "../../runner/port.ts";
import { Runner } from "../../runner/runner.ts";
import { movableClock, tempWorkspace, type MovableClock, type TempWorkspace } from "../helpers.ts";
import { waitFor as waitUntil } from "../wait.ts";
import { gitAs, initRepo } from "./git-repo-kit.ts";

export const OWNER = 111;
export const STRANGER = 666;
export const CHAT = -100500;
export const SECRET = "s3cret-Telegram-webhook-0123456789";
export const PUBLIC_URL = "https://cos.example.test";

export const CONFIG = {
  agents: { builder: { command: ["true"] }, writer: { command: ["true"] }, scout: { command: ["true"] } },
  projects: { site: { repo: "./site", mainBranch: "main" } },
};

export interface Harness {
  ctx: AppContext;
  ws: TempWorkspace;
  clock: MovableClock;
  fake: FakeTelegram;
  telegram: TelegramService;
  server: Server | null;
  /** The hono app the bot mounted its webhook route on. */
  app: Hono;
  logs: string[];
  /** POSTs an update to the webhook (webhook mode), or queues it for getUpdates (polling). */
  send(update: Record<string, unknown>): Promise<void>;
  /** Waits until every stored update is handled and the outbox has nothing due. */
  settle(): Promise<void>;
  /** Stops the bot (the store and the fake stay) and starts it again on the same store. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  mode: "webhook" | "polling";
  env?: Record<string, string>;
  config?: object;
  fake?: FakeTelegram;
  ws?: TempWorkspace;
}

let nextUpdateId = 1;
export const updateId = () => nextUpdateId++;

export function telegramEnv(fake: FakeTelegram, mode: "webhook" | "polling"): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_ALLOWED_USER_IDS: `${OWNER},222`,
    TELEGRAM_CHAT_ID: String(CHAT),
    ...(mode === "webhook" ? { COS_PUBLIC_URL: PUBLIC_URL, TELEGRAM_WEBHOOK_SECRET: SECRET } : {}),
  };
}

/** A store, the fake Bot API, the bot (and in webhook mode the real HTTP server) wired as `cos serve` does. */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const fake = options.fake ?? (await startFakeTelegram());
  const ws = options.ws ?? tempWorkspace(options.config ?? CONFIG);
  const clock = movableClock("2026-11-23T22:00:00.000Z");
  const logs: string[] = [];
  const env = parseEnv({ ...ws.env, COS_PORT: "0", ...telegramEnv(fake, options.mode), ...options.env });
  const ctx = await openApp({ env, cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });

  let telegram: TelegramService;
  let server: Server | null = null;
  let app!: Hono;
  const boot = async () => {
    app = createHttpApp(ctx);
    telegram = await startTelegram(ctx, app, (line) => logs.push(line), { outboxIntervalMs: 50, pollTimeoutSeconds: 5, sleep: async () => {} });
    server = options.mode === "webhook" ? await startHttp(ctx, app) : null;
  };
  await boot();

  const harness: Harness = {
    ctx,
    ws,
    clock,
    fake,
    get telegram() {
      return telegram;
    },
    get server() {
      return server;
    },
    get app() {
      return app;
    },
    logs,
    async send(update) {
      if (update.update_id === undefined) update.update_id = updateId();
      if (options.mode === "polling") {
        fake.pushUpdates([update]);
        await waitUntil(async () => (await ctx.db.query("SELECT 1 FROM chat_updates WHERE update_id = ?", [String(update.update_id)])).length > 0, "the update to be polled");
        return;
      }
      const response = await postUpdate(server!.port, update, SECRET);
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
    },
    settle: () => settlePlatform(telegram),
    async restart() {
      await telegram.stop();
      await server?.close();
      await boot();
    },
    async close() {
      await telegram.stop();
      await server?.close();
      await ctx.db.close();
      if (!options.fake) await fake.close();
      if (!options.ws) ws.cleanup();
    },
  };
  return harness;
}

/**
 * Waits until a platform's inbox has handled every stored update and its outbox has nothing due; twice
 * over, for what one of them hands the other. Telegram and Slack harnesses settle alike.
 */
export async function settlePlatform(service: { inbox: { idle(): Promise<void> }; outbox: { deliverDue(): Promise<number> } | null }): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await service.inbox.idle();
    while ((await service.outbox?.deliverDue()) ?? 0) {
      /* deliver until nothing is due */
    }
  }
}

// The chat tests import the one wait helper (tests/wait.ts) under the name they have always used.
export { waitUntil };

export function postUpdate(port: number, update: unknown, secret: string | null): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret !== null ? { "x-telegram-bot-api-secret-token": secret } : {}) },
    body: JSON.stringify(update),
  });
}

/** A research task (no project, no git) with a result waiting for review; its card is in the outbox. */
export async function taskInReview(ctx: AppContext, title = "Research MDX", agent = "scout"): Promise<number> {
  const id = await queueTask(ctx, { title, type: "research", agent }, "cli");
  await runPass(ctx);
  await recordResult(ctx, id, { markdown: `## Summary\nFindings for ${title}.`, exitCode: 0 }, "cli");
  return id;
}

/** A git repo at `<ws>/site` with one commit on main. */
export function siteRepo(dir: string): string {
  return initRepo(join(dir, "site"));
}

/** A git repo at `<ws>/site` with main and a task branch holding one commit, as a worktree run leaves it. */
export function siteRepoWithTaskBranch(dir: string, taskId: number, file = "blog.mdx", content = "# Blog\n"): string {
  const repo = siteRepo(dir);
  gitAs(repo, "checkout", "-q", "-b", `cos/task-${taskId}`);
  writeFileSync(join(repo, file), content);
  gitAs(repo, "add", ".");
  gitAs(repo, "commit", "-q", "-m", `task ${taskId}`);
  gitAs(repo, "checkout", "-q", "main");
  return repo;
}

/** Sends a command as the owner, in the owner's private chat, and answers the text of the replies it got. */
export async function askAsOwner(h: Harness, text: string): Promise<string> {
  const before = h.fake.messagesIn(OWNER).length;
  await h.send(messageUpdate(text, { from: OWNER }));
  await h.settle();
  return h.fake
    .messagesIn(OWNER)
    .slice(before)
    .map((m) => m.text)
    .join("\n---\n");
}

/** Runs dispatched tasks now with an in-process runner named night-runner, and waits for their reports. */
export async function runNow(ctx: AppContext, dataDir: string, taskIds: number[]): Promise<void> {
  const runner = new Runner(localPort(ctx), {
    id: "night-runner",
    slots: taskIds.length,
    labels: [],
    config: ctx.config,
    dataDir,
    sourceEnv: { PATH: process.env.PATH, HOME: process.env.HOME },
    clock: ctx.clock,
  });
  await runner.poll(taskIds);
  await runner.idle();
}

/** The card message the outbox posted for a task (in the configured chat). */
export function cardOfTask(fake: FakeTelegram, taskId: number) {
  return fake.messagesIn(CHAT).find((m) => m.text.startsWith(`#${taskId} `));
}

/** A research task in review (see taskInReview), settled so its card is posted: its id and the card as `cardOf` finds it. */
export async function taskWithCard<F, C>(h: { ctx: AppContext; fake: F; settle(): Promise<void> }, cardOf: (fake: F, taskId: number) => C | undefined, title?: string) {
  const id = await taskInReview(h.ctx, title);
  await h.settle();
  return { id, card: cardOf(h.fake, id)! };
}

/** A research task in review with its card posted in the configured chat. */
export const cardInReview = (h: Harness, title?: string) => taskWithCard(h, cardOfTask, title);

/** The data of a card's verdict buttons (the review page's link button carries none). */
export function buttonData(markup: unknown): string[] {
  const rows = (markup as { inline_keyboard?: { callback_data?: string }[][] } | null)?.inline_keyboard ?? [];
  return rows.flat().flatMap((b) => (b.callback_data === undefined ? [] : [b.callback_data]));
}
