import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");
export const RESULTS_PATH = join(ROOT, "bench", "results.json");

/** A target a metric is judged against: `min` for throughputs (higher is better), `max` for times. */
export type Target = { min: number } | { max: number };

export interface Metric {
  /** `<group>.<name>`, the key in bench/results.json. */
  name: string;
  value: number;
  unit: string;
  target?: Target;
  /** Context printed next to the figure (not written to results.json). */
  note?: string;
}

export interface BenchContext {
  /** A fresh folder under os.tmpdir() for this group; removed after the group runs. */
  dir: string;
  /** Progress lines, printed as the group goes. */
  log(message: string): void;
}

export interface BenchGroup {
  description: string;
  run(ctx: BenchContext): Promise<Metric[]>;
}

export function verdictOf(metric: Metric): "PASS" | "MISS" | "" {
  const t = metric.target;
  if (!t) return "";
  if ("min" in t) return metric.value >= t.min ? "PASS" : "MISS";
  return metric.value < t.max ? "PASS" : "MISS";
}

export function describeTarget(t: Target | undefined): string {
  if (!t) return "";
  return "min" in t ? `≥ ${formatNumber(t.min)}` : `< ${formatNumber(t.max)}`;
}

export function formatNumber(n: number): string {
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `cos-bench-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Merges these metrics into bench/results.json, keeping every key this run did not measure. */
export function mergeResults(metrics: Metric[], path = RESULTS_PATH): void {
  let existing: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) existing = parsed as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`${path} is not valid JSON; fix or remove it before running the bench (${(error as Error).message})`);
    }
  }
  for (const m of metrics) existing[m.name] = { value: m.value, unit: m.unit };
  const sorted = Object.fromEntries(Object.entries(existing).sort(([a], [b]) => a.localeCompare(b)));
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(sorted, null, 2)}\n`);
  renameSync(tmp, path);
}

export function printTable(metrics: Metric[]): void {
  const rows = metrics.map((m) => [m.name, formatNumber(m.value), m.unit, describeTarget(m.target), verdictOf(m), m.note ?? ""]);
  const header = ["metric", "value", "unit", "target", "", "note"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}
