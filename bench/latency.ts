import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { openApp } from "../src/app/open.ts";
import { queueTask, recordVerdict } from "../src/app/tasks.ts";
import { parseEnv } from "../src/config/env.ts";
import { gitWorkspace } from "../runner/workspace/port.ts";
import { ROOT, median, round, type Metric } from "./lib.ts";

// Approve a blocker, see its dependent dispatched, with `cos serve` running: the resolver's reaction
// time. The verdict comes the way a person's would: through cos serve's own HTTP API (the server hears
// its own append at once), or from another process (the file says it changed; a remote log is read
// once a second). Each trial queues a blocker and a dependent, lets the server's runner run the
// blocker, approves it, and times until the dependent's row says it was dispatched.

export interface LatencySetup {
  dir: string;
  /** Trials timed, after WARM_UP trials that are not (the first verdicts also warm up the server). */
  trials: number;
  /** A remote store (URL and token) instead of an embedded file in `dir`. */
  remote?: { url: string; token: string } | null;
  /** "server": POST /api/tasks/:id/verdict to cos serve; "process": this process appends the verdict. */
  via: "server" | "process";
  log: (line: string) => void;
  /** How often the dependent's row is read while waiting (the figure's resolution). */
  pollMs?: number;
}

const API_TOKEN = "bench-api-token";
const WARM_UP = 5;

export async function approveToDispatch(setup: LatencySetup): Promise<number[]> {
  mkdirSync(setup.dir, { recursive: true });
  const quick = { command: [process.execPath, "-e", "console.log('## Summary\\nok')"] };
  writeFileSync(join(setup.dir, "cos.config.json"), JSON.stringify({ agents: { first: quick, second: quick }, resolver: { maxConcurrent: 4 }, runner: { slots: 2 } }));
  const envVars: Record<string, string> = {
    COS_DB_URL: setup.remote ? setup.remote.url : `file:${join(setup.dir, "cos.db")}`,
    COS_CONFIG: join(setup.dir, "cos.config.json"),
    COS_PORT: "0",
    COS_API_TOKEN: API_TOKEN,
    ...(setup.remote ? { COS_DB_AUTH_TOKEN: setup.remote.token } : {}),
  };
  const app = await openApp({ env: parseEnv(envVars), cwd: setup.dir, workspace: gitWorkspace });
  const server = spawn(process.execPath, [join(ROOT, "bin", "cos.js"), "serve"], { env: { PATH: process.env.PATH ?? "", ...envVars }, stdio: ["ignore", "pipe", "ignore"] });
  const samples: number[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once("exit", (code) => reject(new Error(`cos serve exited with ${code}`)));
      createInterface({ input: server.stdout! }).on("line", (line) => {
        const match = /listening on http:\/\/[^:]+:(\d+)/.exec(line);
        if (match) resolve(Number(match[1]));
      });
    });
    const approve = async (id: number) => {
      if (setup.via === "process") return void (await recordVerdict(app, id, "approved", null, "bench"));
      const response = await fetch(`http://127.0.0.1:${port}/api/tasks/${id}/verdict`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${API_TOKEN}` },
        body: JSON.stringify({ verdict: "approved" }),
      });
      if (!response.ok) throw new Error(`verdict on #${id}: HTTP ${response.status} ${await response.text()}`);
    };
    const row = async (id: number) => (await app.db.query<{ status: string; dispatched_at: string | null }>("SELECT status, dispatched_at FROM tasks WHERE id = ?", [id]))[0]!;
    for (let trial = -WARM_UP; trial < setup.trials; trial++) {
      const blocker = await queueTask(app, { title: `Blocker ${trial}`, type: "research", agent: "first" }, "bench");
      const dependent = await queueTask(app, { title: `Dependent ${trial}`, type: "research", agent: "second", blockedBy: [blocker] }, "bench");
      await until(async () => (await row(blocker)).status === "review", `#${blocker} in review`, 30_000, 5);
      const started = performance.now();
      await approve(blocker);
      await until(async () => (await row(dependent)).dispatched_at !== null, `#${dependent} dispatched`, 30_000, setup.pollMs ?? 1);
      if (trial >= 0) samples.push(performance.now() - started);
      await until(async () => (await row(dependent)).status === "review", `#${dependent} in review`, 30_000, 5);
      await approve(dependent);
      if (trial >= 0 && (trial + 1) % 100 === 0) setup.log(`${trial + 1} trials, p50 of the last 100: ${round(median(samples.slice(-100)))} ms`);
    }
  } finally {
    server.kill("SIGTERM");
    await app.db.close();
  }
  return samples;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs: number, everyMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** p50 and max, and how the latency held up: the p50 of the last 100 trials against the first 100. */
export function latencyMetrics(prefix: string, samples: number[], targets: { p50: number; max: number }, what: string): Metric[] {
  const first = samples.slice(0, Math.min(100, samples.length));
  const last = samples.slice(-Math.min(100, samples.length));
  const curve: number[] = [];
  for (let i = 0; i < samples.length; i += 100) curve.push(Math.round(median(samples.slice(i, i + 100))));
  return [
    { name: `${prefix}_p50_ms`, value: round(median(samples)), unit: "ms", target: { max: targets.p50 }, note: `${what}, ${samples.length} trials` },
    { name: `${prefix}_max_ms`, value: round(Math.max(...samples)), unit: "ms", target: { max: targets.max } },
    {
      name: `${prefix}_drift`,
      value: round(median(last) / median(first), 2),
      unit: "×",
      target: { max: 1.5 },
      note: `p50 of the last 100 / the first 100; p50 per 100 trials: ${curve.join(", ")} ms`,
    },
  ];
}

export function latencyTrials(fallback: number): number {
  const given = Number(process.env.BENCH_LATENCY_TRIALS);
  return Number.isInteger(given) && given > 0 ? given : fallback;
}
