import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { openApp } from "../src/app/open.ts";
import { gitWorkspace } from "../runner/workspace/port.ts";
import { parseEnv } from "../src/config/env.ts";
import { messageUpdate, startFakeTelegram } from "../tests/fixtures/fake-telegram.ts";
import { ROOT, round, type BenchGroup, type Metric } from "./lib.ts";

const SECRET = "bench-webhook-secret-0123456789";
const CONCURRENCY = 50;
const LATENCY_REQUESTS = 3_000;
const BURST = 1_000;
const OWNER = 111;

/**
 * The webhook as Telegram meets it: the real `cos serve` (the bundled bin) in its own process, its
 * bot handling `/why N` in the background against its store and replying to a local fake Bot API in
 * this process. Latency is from sending an update to its 200, with 50 requests in flight on
 * keep-alive connections; the burst is 1,000 updates sent the same way, timed until the last reply,
 * and checked to be handled exactly once each.
 */
export const telegramGroup: BenchGroup = {
  description: "Telegram webhook of `cos serve`: latency with 50 concurrent requests, and a burst of 1,000 updates",
  async run(ctx) {
    const fake = await startFakeTelegram();
    const configPath = join(ctx.dir, "cos.config.json");
    writeFileSync(configPath, JSON.stringify({ agents: { builder: { command: ["true"] } }, runner: { slots: 0 } }));
    const env = {
      COS_DB_URL: `file:${join(ctx.dir, "cos.db")}`,
      COS_CONFIG: configPath,
      COS_PORT: "0",
      COS_PUBLIC_URL: "https://cos.example.test",
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      TELEGRAM_ALLOWED_USER_IDS: String(OWNER),
      TELEGRAM_CHAT_ID: "-100500",
    };
    // Opened here first so that the migrations are done before the server starts.
    const app = await openApp({ env: parseEnv(env), cwd: ctx.dir, workspace: gitWorkspace });
    const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, "--cpu-prof-name=telegram-serve.cpuprofile"] : [];
    const server = spawn(process.execPath, [...prof, join(ROOT, "bin", "cos.js"), "serve"], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    server.stdout.on("data", (d) => (output += d));
    server.stderr.on("data", (d) => (output += d));
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`cos serve did not start:\n${output}`)), 60_000);
        const check = () => {
          const m = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
          if (m && output.includes("ready (webhook")) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        };
        server.stdout.on("data", check);
        server.stderr.on("data", check);
        server.once("exit", (code) => reject(new Error(`cos serve exited with ${code}:\n${output}`)));
      });

      const post = (body: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const started = performance.now();
          const req = request(
            { host: "127.0.0.1", port, path: "/telegram/webhook", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-telegram-bot-api-secret-token": SECRET } },
            (res) => {
              res.resume();
              res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`webhook answered ${res.statusCode}`))));
            },
          );
          req.on("error", reject);
          req.end(body);
        });
      let nextId = 1;
      const send = async (count: number, chatBase: number): Promise<number[]> => {
        const bodies = Array.from({ length: count }, (_, i) => JSON.stringify({ update_id: nextId++, ...messageUpdate(`/why ${i + 1}`, { from: OWNER, chat: chatBase + i }) }));
        const times: number[] = [];
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            for (let b = bodies.shift(); b; b = bodies.shift()) times.push(await post(b));
          }),
        );
        return times;
      };
      const replies = () => fake.ok("sendMessage").length;
      const handled = (n: number) => fake.waitFor(() => replies() >= n, 120_000, `${n} replies`);

      await send(200, 10_000_000); // warm-up: connections, JIT, the store's pages
      await handled(200);

      const latencies = await send(LATENCY_REQUESTS, 20_000_000);
      await handled(200 + LATENCY_REQUESTS);
      const sorted = [...latencies].sort((a, b) => a - b);
      const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
      ctx.log(`latency over ${LATENCY_REQUESTS} updates, ${CONCURRENCY} in flight: p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`);

      const before = replies();
      const started = performance.now();
      await send(BURST, 30_000_000);
      const acknowledged = performance.now() - started;
      await handled(before + BURST);
      const done = performance.now() - started;
      await new Promise((settle) => setTimeout(settle, 300)); // a duplicate would show up here
      const chats = fake.ok("sendMessage").slice(before).map((c) => Number(c.params.chat_id));
      if (chats.length !== BURST || new Set(chats).size !== BURST) {
        throw new Error(`the burst got ${chats.length} replies to ${new Set(chats).size} chats, expected ${BURST}, each once`);
      }
      const rows = await app.db.query<{ n: number }>("SELECT count(*) AS n FROM chat_updates WHERE handled_at IS NOT NULL");
      ctx.log(`burst of ${BURST}: all acknowledged in ${Math.round(acknowledged)} ms, all handled in ${Math.round(done)} ms, one reply each (${Number(rows[0]!.n)} updates handled in all)`);
      const metrics: Metric[] = [
        { name: "telegram.webhook_p50_ms", value: round(pct(50), 2), unit: "ms", note: `${CONCURRENCY} concurrent requests` },
        { name: "telegram.webhook_p99_ms", value: round(pct(99), 2), unit: "ms", target: { max: 100 }, note: `${CONCURRENCY} concurrent requests, ${LATENCY_REQUESTS} updates` },
        { name: "telegram.burst_1000_ack_ms", value: Math.round(acknowledged), unit: "ms", note: "until the last 200" },
        { name: "telegram.burst_1000_handled_ms", value: Math.round(done), unit: "ms", note: "until the last update is handled and replied to" },
        { name: "telegram.burst_updates_per_s", value: Math.round((BURST / done) * 1000), unit: "updates/s", note: "handled, each exactly once" },
      ];
      return metrics;
    } finally {
      agent.destroy();
      server.kill("SIGTERM");
      await new Promise((exit) => (server.exitCode !== null ? exit(null) : server.once("exit", exit)));
      await app.db.close();
      await fake.close();
    }
  },
};
