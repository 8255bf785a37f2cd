// `npm run bench` runs every group; `npm run bench -- store cli` runs the named ones. Each group gets
// its own temp folder, its metrics are printed with their targets and merged into bench/results.json
// (keys of groups that did not run are kept). To add a group: write a BenchGroup in bench/<name>.ts and
// register it below; name its metrics `<group>.<metric>`.
// BENCH_KEEP=1 keeps the temp folders (to profile against their stores); BENCH_CPU_PROF=DIR writes CPU
// profiles of the rebuilds and of the `cos task list` runs into DIR.
import { availableParallelism, loadavg } from "node:os";
import { checksGroup } from "./checks.ts";
import { cliGroup } from "./cli.ts";
import { RESULTS_PATH, mergeResults, printTable, tempDir, verdictOf, type BenchGroup, type Metric } from "./lib.ts";
import { memoryGroup } from "./memory.ts";
import { pagesGroup } from "./pages.ts";
import { remoteGroup } from "./remote.ts";
import { resolverGroup } from "./resolver.ts";
import { sandboxGroup } from "./sandbox.ts";
import { storeGroup } from "./store.ts";
import { telegramGroup } from "./telegram.ts";

const GROUPS: Record<string, BenchGroup> = {
  store: storeGroup,
  cli: cliGroup,
  resolver: resolverGroup,
  remote: remoteGroup,
  telegram: telegramGroup,
  memory: memoryGroup,
  sandbox: sandboxGroup,
  checks: checksGroup,
  pages: pagesGroup,
};

function usage(): string {
  const lines = Object.entries(GROUPS).map(([name, g]) => `  ${name.padEnd(8)} ${g.description}`);
  return `usage: npm run bench [-- GROUP...]\n\ngroups:\n${lines.join("\n")}`;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage());
    return 0;
  }
  const unknown = argv.filter((a) => !GROUPS[a]);
  if (unknown.length) {
    console.error(`unknown bench group ${unknown.map((u) => `"${u}"`).join(", ")}\n\n${usage()}`);
    return 2;
  }
  const names = argv.length ? [...new Set(argv)] : Object.keys(GROUPS);
  const all: Metric[] = [];
  const started = performance.now();
  const loadAtStart = loadavg()[0]!;
  for (const name of names) {
    const group = GROUPS[name]!;
    const { dir, cleanup } = tempDir(name);
    const groupStarted = performance.now();
    console.log(`== ${name}: ${group.description}`);
    try {
      const metrics = await group.run({ dir, log: (m) => console.log(`   ${m}`) });
      all.push(...metrics);
      // Written after each group, so a later group's failure does not lose these figures.
      mergeResults(metrics);
    } finally {
      if (process.env.BENCH_KEEP) console.log(`   kept ${dir} (BENCH_KEEP)`);
      else cleanup();
    }
    console.log(`   (${((performance.now() - groupStarted) / 1000).toFixed(1)} s)\n`);
  }
  printTable(all);
  const missed = all.filter((m) => verdictOf(m) === "MISS");
  console.log(
    `\n${all.length} metrics in ${((performance.now() - started) / 1000).toFixed(1)} s, written to ${RESULTS_PATH}` +
      (missed.length ? `; ${missed.length} missed their target: ${missed.map((m) => m.name).join(", ")}` : ""),
  );
  // Other processes on the machine skew every figure; say so rather than let a busy run pass for a slow store.
  const cpus = availableParallelism();
  const load = `load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, ${cpus} CPUs`;
  console.log(Math.max(loadAtStart, loadavg()[0]!) > cpus * 0.75 ? `warning: the machine was busy (${load}); the figures are pessimistic` : `(${load})`);
  // A missed target is a finding to report, not a crash: the exit code stays 0.
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
