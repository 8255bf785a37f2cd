import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AppContext } from "../src/app/context.ts";
import { openApp } from "../src/app/open.ts";
import { queueTask, recordResult, recordVerdict } from "../src/app/tasks.ts";
import { parseEnv } from "../src/config/env.ts";
import { gitWorkspace } from "../runner/workspace/port.ts";
import { runPass } from "../resolver/pass.ts";
import { startCountingProxy, type CountingProxy } from "../tests/fixtures/counting-proxy.ts";
import { startHranaServer, type HranaServer } from "../tests/fixtures/hrana-server.ts";
import { approveToDispatch, latencyMetrics } from "./latency.ts";
import { ROOT, round, type BenchContext, type BenchGroup, type Metric } from "./lib.ts";

// The store across machines: the same commands against an embedded file and against a libSQL server
// 25 ms away (the Hrana test server behind the counting proxy, which adds the latency and counts the
// requests), in one run; an in-process night of 50 tasks on both; cos serve's idle requests and its
// approve → dispatch latency on the remote store.

const LATENCY_MS = 25;
const TOKEN = "bench-remote-token";

export const remoteGroup: BenchGroup = {
  description: "a remote store at +25 ms beside the embedded file: requests and time per command, a night of 50 tasks, idle requests, dispatch latency",
  async run(ctx) {
    return [
      ...(await withServer((server, proxy) => commandsBench(ctx, server, proxy))),
      ...(await withServer((_, proxy) => nightBench(ctx, proxy))),
      ...(await withServer((_, proxy) => idleBench(ctx, proxy))),
      ...(await withServer((_, proxy) => remoteLatencyBench(ctx, proxy))),
    ];
  },
};

/** A fresh server with an empty store, behind a proxy that adds LATENCY_MS to each request. */
async function withServer<T>(work: (server: HranaServer, proxy: CountingProxy) => Promise<T>): Promise<T> {
  const server = await startHranaServer({ authToken: TOKEN });
  const proxy = await startCountingProxy({ target: server.url, latencyMs: LATENCY_MS });
  try {
    return await work(server, proxy);
  } finally {
    await proxy.close();
    await server.close();
  }
}

const quick = { command: [process.execPath, "-e", "console.log('## Summary\\nok')"] };
const agents = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, quick]));

/** A folder with a cos.config.json of `n` agents, and the environment for a store there or remote. */
function workspace(ctx: BenchContext, name: string, remote: string | null, n = 8): { dir: string; env: Record<string, string> } {
  const dir = join(ctx.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cos.config.json"), JSON.stringify({ agents: agents(n), resolver: { maxConcurrent: n } }));
  const env: Record<string, string> = { COS_CONFIG: join(dir, "cos.config.json"), COS_DB_URL: remote ?? `file:${join(dir, "cos.db")}` };
  if (remote) env.COS_DB_AUTH_TOKEN = TOKEN;
  return { dir, env };
}

const COMMANDS: { key: string; args: string[]; stdin?: string; requests?: number }[] = [
  { key: "first_command", args: ["task", "list"] },
  { key: "task_add", args: ["task", "add", "Research", "--type", "research", "--agent", "a0"], requests: 3 },
  { key: "tick_1", args: ["tick"] },
  { key: "result", args: ["result", "1"], stdin: "## Summary\nDone.\n", requests: 4 },
  { key: "verdict", args: ["verdict", "1", "approve"], requests: 4 },
  ...Array.from({ length: 8 }, (_, i) => ({ key: `add_${i}`, args: ["task", "add", `t${i}`, "--type", "research", "--agent", `a${i}`] })),
  { key: "tick_8", args: ["tick"], requests: 6 },
  { key: "task_list", args: ["task", "list"], requests: 3 },
  { key: "task_show", args: ["task", "show", "2"], requests: 3 },
  { key: "rebuild", args: ["rebuild"] },
  { key: "check", args: ["check"] },
];

async function commandsBench(ctx: BenchContext, server: HranaServer, proxy: CountingProxy): Promise<Metric[]> {
  const metrics: Metric[] = [];
  const embedded = workspace(ctx, "commands-embedded", null);
  const remote = workspace(ctx, "commands-remote", proxy.url);
  // Once, so the first timed command does not pay for bundling the CLI.
  await cos(["help"], {}, ctx.dir);
  const rows: string[] = [];
  for (const command of COMMANDS) {
    const here = await cos(command.args, embedded.env, embedded.dir, command.stdin);
    proxy.reset();
    const there = await cos(command.args, remote.env, remote.dir, command.stdin);
    const requests = proxy.total();
    rows.push(`${command.key} ${Math.round(here)} ms / ${Math.round(there)} ms, ${requests} req`);
    if (command.key.startsWith("add_")) continue;
    metrics.push(
      { name: `remote.${command.key}_requests`, value: requests, unit: "req", ...(command.requests ? { target: { max: command.requests + 1 } } : {}), note: `cos ${command.args.slice(0, 2).join(" ")}` },
      { name: `remote.${command.key}_ms`, value: round(there), unit: "ms", note: `at +${LATENCY_MS} ms a request` },
      { name: `remote.${command.key}_embedded_ms`, value: round(here), unit: "ms", note: "the same command on an embedded file" },
    );
  }
  ctx.log(`commands (embedded / remote +${LATENCY_MS} ms): ${rows.join("; ")}`);
  ctx.log(`server: ${server.stats.txnTimeouts} transactions timed out`);
  return metrics;
}

/**
 * A night of 50 tasks in process: ten agents with five tasks each, each after the one before; passes
 * dispatch, results are recorded and approved, until all 50 are approved.
 */
async function night(app: AppContext): Promise<number> {
  const previous = new Map<number, number>();
  for (let k = 0; k < 5; k++) {
    for (let a = 0; a < 10; a++) {
      const blockedBy = previous.has(a) ? [previous.get(a)!] : [];
      previous.set(a, await queueTask(app, { title: `night ${a}.${k}`, type: "research", agent: `a${a}`, blockedBy }, "bench"));
    }
  }
  const started = performance.now();
  for (let done = 0; done < 50; ) {
    const pass = await runPass(app);
    if (!pass.dispatched.length) throw new Error(`the night stalled after ${done} tasks: ${JSON.stringify(pass.holds.slice(0, 3))}`);
    for (const d of pass.dispatched) {
      await recordResult(app, d.taskId, { markdown: `## Summary\nDone ${d.taskId}.`, exitCode: 0 }, "bench");
      await recordVerdict(app, d.taskId, "approved", null, "bench");
      done++;
    }
  }
  return performance.now() - started;
}

async function nightBench(ctx: BenchContext, proxy: CountingProxy): Promise<Metric[]> {
  const times: Record<string, number> = {};
  let requests = 0;
  for (const [kind, url] of [["embedded", null], ["remote", proxy.url]] as const) {
    const { dir, env } = workspace(ctx, `night-${kind}`, url, 10);
    const app = await openApp({ env: parseEnv(env), cwd: dir, workspace: gitWorkspace });
    try {
      proxy.reset();
      times[kind] = await night(app);
      if (kind === "remote") requests = proxy.total();
    } finally {
      await app.db.close();
    }
  }
  ctx.log(`night of 50 tasks: embedded ${Math.round(times.embedded!)} ms, remote ${Math.round(times.remote!)} ms (${requests} requests)`);
  return [
    { name: "remote.night_50_ms", value: round(times.remote!), unit: "ms", note: `in process, +${LATENCY_MS} ms a request, ${requests} requests` },
    { name: "remote.night_50_embedded_ms", value: round(times.embedded!), unit: "ms", note: "the same night on an embedded file" },
    { name: "remote.night_50_requests", value: requests, unit: "req", note: "passes, results and verdicts of 50 tasks" },
  ];
}

/** cos serve on the remote store with nothing to do: requests a second, over 10 s. */
async function idleBench(ctx: BenchContext, proxy: CountingProxy): Promise<Metric[]> {
  const { dir, env } = workspace(ctx, "idle", proxy.url);
  const serve = spawn(process.execPath, [join(ROOT, "bin", "cos.js"), "serve"], { cwd: dir, env: { PATH: process.env.PATH ?? "", ...env, COS_PORT: "0" }, stdio: "ignore" });
  try {
    await new Promise((done) => setTimeout(done, 3_000));
    proxy.reset();
    const seconds = 10;
    await new Promise((done) => setTimeout(done, seconds * 1000));
    const perSecond = proxy.total() / seconds;
    ctx.log(`idle cos serve: ${proxy.total()} requests in ${seconds} s`);
    return [{ name: "remote.idle_requests_per_s", value: round(perSecond, 2), unit: "req/s", target: { max: 1.01 }, note: `cos serve with nothing to do, over ${seconds} s` }];
  } finally {
    serve.kill("SIGTERM");
  }
}

async function remoteLatencyBench(ctx: BenchContext, proxy: CountingProxy): Promise<Metric[]> {
  const given = Number(process.env.BENCH_REMOTE_TRIALS);
  const trials = Number.isInteger(given) && given > 0 ? given : 100;
  const samples = await approveToDispatch({
    dir: join(ctx.dir, "latency-remote"),
    trials,
    remote: { url: proxy.url, token: TOKEN },
    via: "process",
    pollMs: 10,
    log: (m) => ctx.log(`remote: ${m}`),
  });
  return latencyMetrics("remote.dispatch_latency", samples, { p50: 1000, max: 2000 }, `approve (another process) → dependent dispatched, +${LATENCY_MS} ms`);
}

function cos(args: string[], env: Record<string, string>, cwd: string, stdin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(ROOT, "bin", "cos.js"), ...args], { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`cos ${args.join(" ")} exited with ${code}: ${stderr.trim()}`))));
    child.stdin.end(stdin ?? "");
  });
}
