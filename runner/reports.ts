import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunOutcome } from "../src/app/runs.ts";
import { toCosError, type CosError } from "../src/shared/errors.ts";
import type { RunnerPort } from "./port.ts";

// A finished run's report is the work itself: it must not be lost because the store (or the server)
// was away when the run ended. It is written into the run's folder before it is sent, sent until it
// is accepted or refused as stale, and found again by the next runner on this machine if this one
// stops first.

export interface PendingReport {
  taskId: number;
  attempt: number;
  /** The runner that held the lease: a later runner process sends it in that name. */
  runner: string;
  outcome: RunOutcome;
  finishedAt: string;
}

const FILE = "report.json";
const MAX_WAIT_MS = 30_000;

export function reportPath(runDir: string): string {
  return join(runDir, FILE);
}

/** Written atomically (a temp file renamed), so a runner killed mid-write leaves the old file or none. */
export function saveReport(runDir: string, report: PendingReport): void {
  mkdirSync(runDir, { recursive: true });
  const tmp = join(runDir, `${FILE}.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(report));
  renameSync(tmp, reportPath(runDir));
}

/** Reports left unsent in the run folders under `runsDir`, with their folders. */
export function unsentReports(runsDir: string): { runDir: string; report: PendingReport }[] {
  if (!existsSync(runsDir)) return [];
  const found: { runDir: string; report: PendingReport }[] = [];
  for (const name of readdirSync(runsDir)) {
    const runDir = join(runsDir, name);
    const path = reportPath(runDir);
    if (!existsSync(path)) continue;
    try {
      found.push({ runDir, report: JSON.parse(readFileSync(path, "utf8")) as PendingReport });
    } catch {
      // A report that does not parse was never completely written: rename cannot leave half a file.
    }
  }
  return found;
}

/**
 * Refused for good: the attempt is stale, the task is gone, or the report is malformed. Anything else
 * may pass later (a store or server that is away, a runner token being fixed).
 */
function refused(error: CosError): boolean {
  return error.code === "illegal_state" || error.code === "not_found" || error.code === "validation";
}

/**
 * Sends a saved report until the server accepts it or refuses it as stale, waiting longer after each
 * failure (1 s, 2 s, 4 s … 30 s); says once when it starts waiting and once when it got through.
 * Resolves with what happened; `stopped` ends the waiting (the report stays in its folder).
 */
export async function deliverReport(
  port: RunnerPort,
  runDir: string,
  report: PendingReport,
  options: { log?: (line: string) => void; stopped?: AbortSignal } = {},
): Promise<"accepted" | "refused" | "stopped"> {
  let failures = 0;
  for (;;) {
    if (options.stopped?.aborted) return "stopped";
    try {
      await port.report(report.taskId, report.attempt, report.runner, report.outcome);
      rmSync(reportPath(runDir), { force: true });
      if (failures) options.log?.(`report sent after ${failures} failed ${failures === 1 ? "try" : "tries"}`);
      return "accepted";
    } catch (error) {
      const cos = toCosError(error);
      if (refused(cos)) {
        rmSync(reportPath(runDir), { force: true });
        options.log?.(`report refused: ${cos.message}`);
        return "refused";
      }
      failures++;
      if (failures === 1) options.log?.(`report not sent yet (${cos.message}); kept in ${reportPath(runDir)}, trying again until it is`);
      const wait = Math.min(MAX_WAIT_MS, 1000 * 2 ** Math.min(failures - 1, 5));
      await new Promise<void>((done) => {
        const timer = setTimeout(done, wait);
        options.stopped?.addEventListener("abort", () => {
          clearTimeout(timer);
          done();
        }, { once: true });
      });
    }
  }
}
