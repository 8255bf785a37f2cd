// Runs rebuildProjections on one store in a process of its own, so that its peak RSS is the rebuild's
// (plus Node's baseline), and prints one JSON line: the timing, the memory and the projected counts.
// bench/store.ts bundles it first (bench/bundle.ts), so it runs the code as `cos rebuild` does.
// Usage: node rebuild-worker.mjs /path/to/store.db
import { Database } from "../src/store/db.ts";
import { rebuildProjections } from "../src/store/rebuild.ts";
import { PROJECTION_TABLES } from "../src/store/projections.ts";

const file = process.argv[2];
if (!file) throw new Error("usage: rebuild-worker.ts STORE_FILE");

const db = await Database.open({ url: `file:${file}` });
const baselineRssMb = process.memoryUsage().rss / 2 ** 20;
const started = performance.now();
const report = await rebuildProjections(db);
const wallMs = performance.now() - started;
const peakRssMb = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
const counts: Record<string, number> = {};
for (const table of PROJECTION_TABLES) {
  const rows = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
  counts[table] = Number(rows[0]!.n);
}
const approved = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tasks WHERE status = 'approved' AND attempt = 2");
counts.approved = Number(approved[0]!.n);
await db.close();
process.stdout.write(`${JSON.stringify({ report, wallMs, baselineRssMb, peakRssMb, counts })}\n`);
