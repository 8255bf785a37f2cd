import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NewEvent } from "../src/domain/events.ts";
import { Database } from "../src/store/db.ts";
import { rebuildProjections } from "../src/store/rebuild.ts";
import { migrate } from "../src/store/migrate.ts";
import {
  AGENTS,
  EventLoader,
  eventRow,
  lifecycleEvent,
  nearbyBlockers,
  planningRows,
  rng,
  type EventRow,
  type TaskSpec,
} from "./fixtures.ts";
import { ROOT, median, round, type BenchContext, type BenchGroup, type Metric } from "./lib.ts";

const TASKS = 10_000;
const BLOCKERS_PER_TASK = 3; // ≈ 30,000 edges
const RUNS = 7;

export const cliGroup: BenchGroup = {
  description: "the real `cos` bin: `task list` on a store of 10,000 tasks, and `cos demo` start to finish",
  async run(ctx) {
    return [...(await taskListBench(ctx)), ...(await demoBench(ctx))];
  },
};

async function taskListBench(ctx: BenchContext): Promise<Metric[]> {
  const { env, edges } = await taskListStore(ctx);
  const warmup = await runCos(["task", "list"], env, ctx.dir);
  ctx.log(`task list: warm-up ${Math.round(warmup.ms)} ms (builds dist/ when the sources changed)`);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await runCos(["task", "list"], env, ctx.dir);
    const lines = run.stdout.split("\n").filter(Boolean).length;
    if (lines !== TASKS) throw new Error(`cos task list printed ${lines} lines, expected ${TASKS}`);
    times.push(run.ms);
  }
  ctx.log(`task list: ${times.map((t) => Math.round(t)).join(", ")} ms`);
  const note = `${TASKS.toLocaleString("en-US")} tasks, ${edges.toLocaleString("en-US")} blocker edges, ${RUNS} runs after a warm-up`;
  return [
    { name: "cli.task_list_10k_ms", value: round(median(times)), unit: "ms", target: { max: 300 }, note: `p50; ${note}` },
    {
      name: "cli.task_list_10k_max_ms",
      value: round(Math.max(...times)),
      unit: "ms",
      target: { max: 300 },
      note: `slowest run (fastest ${Math.round(Math.min(...times))} ms)`,
    },
  ];
}

const DEMO_RUNS = 3;

/** `cos demo`: a whole scripted night (four tasks in worktrees, a send-back, merges, trust, digest) with no configuration. */
async function demoBench(ctx: BenchContext): Promise<Metric[]> {
  const times: number[] = [];
  for (let i = 0; i < DEMO_RUNS; i++) {
    const run = await runCos(["demo"], {}, ctx.dir);
    if (!run.stdout.includes("☀️ Digest for")) throw new Error(`cos demo did not reach the morning digest:\n${run.stdout}`);
    times.push(run.ms);
  }
  ctx.log(`demo: ${times.map((t) => Math.round(t)).join(", ")} ms`);
  return [{ name: "cli.demo_ms", value: round(median(times)), unit: "ms", target: { max: 60_000 }, note: `p50 of ${DEMO_RUNS} whole nights` }];
}

/**
 * A store of 10,000 tasks in every status, each (past the first few) after three older tasks; the
 * events are written straight into the log and the projections built by rebuildProjections.
 */
async function taskListStore(ctx: BenchContext): Promise<{ env: Record<string, string>; edges: number }> {
  const file = join(ctx.dir, "cos.db");
  const configPath = join(ctx.dir, "cos.config.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      projects: { site: { repo: "./site" } },
      agents: Object.fromEntries(AGENTS.map((a) => [a, { command: ["true"] }])),
    }),
  );
  const db = await Database.open({ url: `file:${file}` });
  await migrate(db);
  await db.close();

  const random = rng(42);
  let edges = 0;
  const specs: TaskSpec[] = [];
  for (let id = 1; id <= TASKS; id++) {
    const blockedBy = nearbyBlockers(id, BLOCKERS_PER_TASK);
    edges += blockedBy.length;
    specs.push({ id, blockedBy });
  }
  function* rows(): Generator<EventRow> {
    yield* planningRows();
    for (const spec of specs) {
      // Older tasks are mostly done (a few discarded); the newest are spread over the open statuses,
      // a few cancelled. Discarded and cancelled blockers make `task list` show held tasks.
      const old = spec.id / TASKS < 0.7;
      const bad = random() < 0.03;
      const steps = old ? (bad ? 8 : 9) : 1 + Math.floor(random() * 8);
      for (let step = 0; step < steps; step++) {
        yield eventRow(`task-${spec.id}`, step + 1, lifecycleEvent(spec, step), spec.id + step, "cli");
      }
      if (bad) {
        const ending: NewEvent = old
          ? { type: "VerdictRecorded", data: { verdict: "discarded", notes: "not needed any more", by: "cli", attempt: 2 } }
          : { type: "TaskCancelled", data: { reason: "superseded", by: "cli" } };
        yield eventRow(`task-${spec.id}`, steps + 1, ending, spec.id + steps, "cli");
      }
    }
  }
  const loader = await EventLoader.open(file);
  try {
    await loader.load(rows());
  } finally {
    loader.close();
  }
  const store = await Database.open({ url: `file:${file}` });
  try {
    await rebuildProjections(store);
    const byStatus = await store.query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status ORDER BY n DESC");
    ctx.log(`task list store: ${byStatus.map((r) => `${r.status} ${r.n}`).join(", ")}`);
  } finally {
    await store.close();
  }
  return { env: { COS_DB_URL: `file:${file}`, COS_CONFIG: configPath }, edges };
}

function runCos(args: string[], env: Record<string, string>, cwd: string): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const profDir = process.env.BENCH_CPU_PROF;
    const prof = profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [];
    const child = spawn(process.execPath, [...prof, join(ROOT, "bin", "cos.js"), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`cos ${args.join(" ")} exited with ${code}: ${stderr.trim()}`));
      resolve({ ms, stdout: Buffer.concat(out).toString("utf8") });
    });
  });
}
