import type { RunOutcome } from "../src/app/runs.ts";
import type { ChangedPath } from "../src/domain/task/flags.ts";
import type { DiffStat } from "../src/domain/task/task.ts";
import { readLogTail, type AgentRunResult } from "./agent.ts";
import type { CliSeen } from "./cli-version.ts";
import type { Preset } from "./presets.ts";

// What a finished attempt reports (DESIGN §7): stopped from outside, timed out, held up by the CLI's usage
// limit (re-queued for its reset, not a spent attempt), or a result, whatever its exit code.

/** How much of the log's end the presets read for usage figures and limit messages. */
const LOG_TAIL_BYTES = 256 * 1024;

export interface FinishedRun {
  result: AgentRunResult;
  /** Aborted when the lease was lost or the runner shut down; its reason says which. */
  stopped: AbortSignal;
  preset: Preset | null;
  timeoutMinutes: number;
  durationMs: number;
  diffStat: DiffStat | null;
  /** The paths the run changed, for the review flags. */
  changes: ChangedPath[] | null;
  /** The preset's CLI and its version, recorded with a result. */
  cli: CliSeen | null;
  now: Date;
}

export function runOutcome(run: FinishedRun): RunOutcome {
  const { result, preset } = run;
  if (run.stopped.aborted) {
    return { kind: "failure", reason: "lease_lost", detail: String((run.stopped.reason as Error)?.message ?? "stopped"), retryAt: null };
  }
  if (result.timedOut) {
    return { kind: "failure", reason: "timeout", detail: `timed out after ${run.timeoutMinutes} min`, retryAt: null };
  }
  const logText = readLogTail(result.logPath, LOG_TAIL_BYTES);
  const limit = preset?.usageLimit(result.output, logText, run.now);
  if (limit) {
    // A reset the CLI did not name, or one already past, is the task's to decide: it backs off (DESIGN §4).
    return { kind: "failure", reason: "usage_limit", detail: `usage limit: ${limit.message}`, retryAt: limit.resetAt };
  }
  return {
    kind: "result",
    markdown: result.resultFromFile || !preset ? result.output : preset.resultText(result.output),
    exitCode: result.exitCode ?? 128,
    durationMs: run.durationMs,
    diffStat: run.diffStat,
    changes: run.changes,
    usage: preset?.usage(result.output, logText) ?? null,
    cli: run.cli,
  };
}
