import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { claimRuns } from "../../src/app/runs.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { createHttpApp } from "../../handlers/http/app.ts";
import { startHttp } from "../../handlers/http/serve.ts";
import { SlackInbox, mountSlackEvents } from "../../handlers/slack/receiver.ts";
import { TelegramInbox, mountWebhook } from "../../handlers/telegram/inbox.ts";
import { runPass } from "../../resolver/pass.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { tempWorkspace } from "../helpers.ts";

// Bodies are bounded while they are read, chunked or not, before anything is stored (issue 12): a 200 MB body
// sent in chunks, with no Content-Length, to every route that reads one. Real HTTP on loopback: the client
// streams until the answer comes, and the answer must come long before the 200 MB are out.

const API = "api-token-for-bodies";
const RUNNER = "runner-token-for-bodies";
const TELEGRAM_SECRET = "s3cret-Telegram-webhook-0123456789";
const TOTAL = 200_000_000;
/** What the kernel's socket buffers on loopback take in before the server stops reading: a few MB. */
const BUFFERS = 16_000_000;

interface Sent {
  status: number;
  /** Bytes written when the answer came. */
  sent: number;
  body: string;
}

/** POSTs a chunked body of up to TOTAL bytes, stopping as soon as the server answers. */
function streamBody(port: number, path: string, headers: Record<string, string>): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let answered = false;
    const req = request({ host: "127.0.0.1", port, path, method: "POST", headers: { ...headers, "transfer-encoding": "chunked" } });
    req.on("response", (res) => {
      answered = true;
      const at = sent;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        req.destroy();
        resolve({ status: res.statusCode!, sent: at, body });
      });
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && sent < TOTAL) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe("request bodies on loopback", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("are cut off at their bound on every route, chunked, and nothing is stored", async () => {
    const ws = tempWorkspace({ agents: { scout: { command: ["true"] } } });
    cleanups.push(ws.cleanup);
    const ctx = await openApp({ env: parseEnv({ ...ws.env, COS_PORT: "0", COS_API_TOKEN: API, COS_RUNNER_TOKEN: RUNNER }), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    const app = createHttpApp(ctx);
    mountWebhook(app, TELEGRAM_SECRET, new TelegramInbox(ctx, async () => {}, () => {}));
    mountSlackEvents(app, ctx, "slack-signing-secret", new SlackInbox(ctx, async () => {}, () => {}), () => {});
    const server = await startHttp(ctx, app);
    cleanups.push(() => server.close());

    // A live run, for its MCP token.
    const id = await queueTask(ctx, { title: "Find sources", type: "research", agent: "scout" }, "cli");
    await runPass(ctx);
    const [run] = await claimRuns(ctx, { runner: "box", slots: 1 });
    const before = await ctx.store.lastPosition();

    const json = { "content-type": "application/json" };
    const routes: [string, Record<string, string>, number][] = [
      ["/api/tasks", { ...json, authorization: `Bearer ${API}` }, 1_000_000],
      [`/api/tasks/${id}/verdict`, { ...json, authorization: `Bearer ${API}` }, 1_000_000],
      ["/cron/tick", { ...json, authorization: `Bearer ${API}` }, 1_000_000],
      ["/runner/report", { ...json, authorization: `Bearer ${RUNNER}` }, 4_000_000],
      ["/mcp", { ...json, accept: "application/json, text/event-stream", authorization: `Bearer ${run!.mcpToken}` }, 4_000_000],
      ["/telegram/webhook", { ...json, "x-telegram-bot-api-secret-token": TELEGRAM_SECRET }, 1_000_000],
      ["/slack/events", { ...json }, 1_000_000],
    ];
    for (const [path, headers, bound] of routes) {
      const { status, sent, body } = await streamBody(server.port, path, headers);
      expect(`${path} ${status}`).toBe(`${path} 413`);
      expect(body, path).toMatch(/too large/);
      expect(sent, `${path}: ${sent} bytes were sent before the answer`).toBeLessThan(bound + BUFFERS);
    }
    // Without its token a request is refused before its body is read at all.
    const stranger = await streamBody(server.port, "/api/tasks", json);
    expect(stranger.status).toBe(401);
    expect(stranger.sent).toBeLessThan(BUFFERS);

    expect(await ctx.store.lastPosition()).toBe(before);
    expect(await ctx.db.query("SELECT 1 FROM chat_updates")).toEqual([]);
    expect((await ctx.db.query("SELECT id FROM tasks")).length).toBe(1);
  }, 60_000);
});
