// Times loadPlanInput + plan on one store in a process of its own, from an esbuild bundle (bench/
// bundle.ts), so it measures the code `cos tick` runs rather than tsx's wrappers. Prints one JSON line.
// Usage: node plan-worker.mjs /path/to/store.db RUNS
import { configSchema } from "../src/config/config.ts";
import { Database } from "../src/store/db.ts";
import { loadPlanInput } from "../src/plan/load.ts";
import { plan } from "../src/plan/plan.ts";

const [file, runsText] = process.argv.slice(2);
if (!file) throw new Error("usage: plan-worker.ts STORE_FILE [RUNS]");
const db = await Database.open({ url: `file:${file}` });
const config = configSchema.parse({});
const now = new Date("2026-11-24T03:00:00.000Z");
const times: number[] = [];
let decisions = 0;
// Warm up as a serving process would be: the pass runs in a process that has run it before.
for (let i = 0; i < 3; i++) plan(await loadPlanInput(db, config, now, null));
for (let i = 0; i < Number(runsText ?? 15); i++) {
  const started = performance.now();
  decisions = plan(await loadPlanInput(db, config, now, null)).length;
  times.push(performance.now() - started);
}
await db.close();
process.stdout.write(`${JSON.stringify({ times, decisions })}\n`);
