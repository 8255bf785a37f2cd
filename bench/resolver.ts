import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApp } from "../src/app/open.ts";
import { gitWorkspace } from "../runner/workspace/port.ts";
import { queueTask, recordResult, recordVerdict } from "../src/app/tasks.ts";
import { createGoal, createInitiative } from "../src/app/goals.ts";
import { loadTask } from "../src/app/tasks.ts";
import { parseEnv } from "../src/config/env.ts";
import { buildDispatchPrompt } from "../src/prompt/build.ts";
import { loadPromptInput } from "../src/prompt/load.ts";
import { Database } from "../src/store/db.ts";
import { rebuildProjections } from "../src/store/rebuild.ts";
import { migrate } from "../src/store/migrate.ts";
import { bundleWorker } from "./bundle.ts";
import { runPass } from "../resolver/pass.ts";
import { EventLoader, eventRow, nearbyBlockers, planningRows, taskQueued, type EventRow } from "./fixtures.ts";
import { ROOT, median, round, type BenchContext, type BenchGroup, type Metric } from "./lib.ts";
import { approveToDispatch, latencyMetrics, latencyTrials } from "./latency.ts";

const OPEN_TASKS = 10_000;
const TOTAL_EVENTS = 1_000_000;

export const resolverGroup: BenchGroup = {
  description: "the wave resolver: a plan over 10,000 open tasks, prompt size, dispatch latency under cos serve",
  async run(ctx) {
    return [...(await planBench(ctx)), ...(await promptBench(ctx)), ...(await latencyBench(ctx))];
  },
};

/**
 * 10,000 queued tasks with about 30,000 blocker edges, in a store of 1,000,000 events: the rest are
 * in streams no projection reads, so the store is big while building it stays quick. The pass reads
 * projections only, so the log's size must not show in its time.
 */
async function planBench(ctx: BenchContext): Promise<Metric[]> {
  const file = join(ctx.dir, "plan.db");
  const db = await Database.open({ url: `file:${file}` });
  await migrate(db);
  await db.close();
  const loader = await EventLoader.open(file);
  let edges = 0;
  const rows = function* (): Generator<EventRow> {
    yield* planningRows();
    for (let id = 1; id <= OPEN_TASKS; id++) {
      const blockedBy = nearbyBlockers(id, 3);
      edges += blockedBy.length;
      yield eventRow(`task-${id}`, 1, taskQueued({ id, blockedBy }), id % 600, "cli");
    }
    const filler = TOTAL_EVENTS - OPEN_TASKS - 120;
    for (let i = 0; i < filler; i++) {
      yield eventRow(`benchlog-${Math.floor(i / 50)}`, (i % 50) + 1, { type: "BenchNoted", data: { i } }, i % 900, "bench");
    }
  };
  const loaded = await loader.load(rows());
  loader.close();
  const store = await Database.open({ url: `file:${file}` });
  await rebuildProjections(store);
  await store.close();
  const worker = await bundleWorker(join(ROOT, "bench", "plan-worker.ts"));
  const output = execFileSync(process.execPath, [worker, file, "15"], { encoding: "utf8" });
  const { times, decisions } = JSON.parse(output.trim().split("\n").at(-1)!) as { times: number[]; decisions: number };
  ctx.log(`plan: ${loaded.toLocaleString("en-US")} events, ${OPEN_TASKS} open tasks, ${edges} edges; ${decisions} decisions; ${times.map((t) => Math.round(t)).join(", ")} ms`);
  return [
    { name: "resolver.plan_10k_ms", value: round(median(times)), unit: "ms", target: { max: 50 }, note: "p50 of 15: load the projections + plan" },
    { name: "resolver.plan_10k_max_ms", value: round(Math.max(...times)), unit: "ms", note: "slowest of 15" },
  ];
}

/**
 * A generated project of 500 tasks in 20 initiatives, most approved with results; the mean dispatch
 * prompt is compared with a prompt that dumps the whole project state.
 */
async function promptBench(ctx: BenchContext): Promise<Metric[]> {
  const dir = join(ctx.dir, "prompt");
  const env = parseEnv({ COS_DB_URL: `file:${join(dir, "cos.db")}`, COS_CONFIG: join(dir, "cos.config.json") });
  mkdirSync(dir, { recursive: true });
  // One agent per initiative, so a pass can move every initiative along at once.
  const agents = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`agent${i}`, { command: ["true"] }]));
  writeFileSync(join(dir, "cos.config.json"), JSON.stringify({ agents, resolver: { maxConcurrent: 20 } }));
  let at = Date.parse("2026-11-23T18:00:00.000Z");
  const app = await openApp({ env, cwd: dir, clock: () => new Date(at), workspace: gitWorkspace });
  const initiatives: number[] = [];
  for (let g = 0; g < 4; g++) {
    const goal = await createGoal(app, { title: `Goal ${g}: grow the newsletter to ${1000 * (g + 1)} readers`, success: `${1000 * (g + 1)} subscribers by March` }, "bench");
    for (let i = 0; i < 5; i++) initiatives.push(await createInitiative(app, { title: `Initiative ${g}.${i}: content engine part ${i}`, goalId: goal, success: "a post a week, each read by 300 people" }, "bench"));
  }
  const ids: number[] = [];
  for (let n = 0; n < 500; n++) {
    const initiative = initiatives[n % 20]!;
    const sameInitiative = ids.filter((_, k) => k % 20 === n % 20);
    const blockedBy = sameInitiative.slice(-2);
    const id = await queueTask(
      app,
      {
        title: `Task ${n}: ${["research", "draft", "edit", "publish"][n % 4]} part ${n}`,
        description: `Work item ${n}. Follow the style guide, link the sources, keep it under 800 words. `.repeat(2),
        type: n % 2 ? "content" : "research",
        agent: `agent${n % 20}`,
        initiativeId: initiative,
        blockedBy,
      },
      "bench",
    );
    ids.push(id);
  }
  // Run and approve all but the last of each initiative, in dependency order, so results, handoffs and learnings exist.
  const approved = new Set<number>();
  for (let round = 0; round < 40 && approved.size < 480; round++) {
    at += 3 * 3600_000;
    const pass = await runPass(app);
    for (const d of pass.dispatched) {
      if (ids.indexOf(d.taskId) >= 480) continue;
      await recordResult(app, d.taskId, {
        markdown: `## Summary\nDid task ${d.taskId}: wrote the draft and checked the links.\n## Handoff\nThe draft is in drafts/${d.taskId}.md; images in assets/${d.taskId}/.\n## What Worked\nOutlining first, then writing in one pass.\n## Reusable Pattern\nOutline → draft → link check.`,
        exitCode: 0,
      }, "bench");
      await recordVerdict(app, d.taskId, "approved", null, "bench");
      approved.add(d.taskId);
    }
  }
  const states = await Promise.all(ids.map(async (id) => (await loadTask(app, id)).state));
  const dump = JSON.stringify(
    states.map((t) => ({ id: t.id, title: t.title, description: t.description, agent: t.agent, status: t.status, blockedBy: t.blockedBy, result: t.result, activity: t.activity })),
  );
  const sizes: number[] = [];
  for (const t of states) sizes.push(buildDispatchPrompt(await loadPromptInput(app.db, app.config, t), app.config.prompt.budgetTokens).text.length);
  await app.db.close();
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  const ratio = (mean / dump.length) * 100;
  ctx.log(`prompt: ${approved.size} approved of 500; mean prompt ${Math.round(mean)} chars, whole-state dump ${dump.length} chars`);
  return [
    { name: "resolver.prompt_mean_chars", value: Math.round(mean), unit: "chars", note: "mean dispatch prompt over 500 tasks" },
    { name: "resolver.prompt_dump_chars", value: dump.length, unit: "chars", note: "the whole project state as one prompt" },
    { name: "resolver.prompt_ratio_pct", value: round(ratio, 2), unit: "%", target: { max: 5 }, note: "mean prompt / whole-state dump" },
  ];
}

/**
 * With `cos serve` running: from approving a blocker to its dependent being dispatched, over 1,000
 * trials (BENCH_LATENCY_TRIALS to change), with the verdict given inside the server (its HTTP API)
 * and from another process on the same file (as the CLI gives it).
 */
async function latencyBench(ctx: BenchContext): Promise<Metric[]> {
  const trials = latencyTrials(1_000);
  const inServer = await approveToDispatch({ dir: join(ctx.dir, "latency-server"), trials, via: "server", log: (m) => ctx.log(`in the server: ${m}`) });
  const fromCli = await approveToDispatch({ dir: join(ctx.dir, "latency-cli"), trials, via: "process", log: (m) => ctx.log(`from another process: ${m}`) });
  return [
    ...latencyMetrics("resolver.dispatch_latency", inServer, { p50: 20, max: 100 }, "approve (HTTP API inside cos serve) → dependent dispatched"),
    ...latencyMetrics("resolver.dispatch_latency_cli", fromCli, { p50: 50, max: 200 }, "approve (another process, same file) → dependent dispatched"),
  ];
}

