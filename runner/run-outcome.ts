import type { RunOutcome } from "../src/app/runs.ts";
import type { DiffStat } from "../src/domain/task/task.ts";
import { readLogTail, type AgentRunResult } from "./agent.ts";
import type { Preset } from "./presets.ts";

// What a finished attempt reports (DESIGN §7): stopped from outside, timed out, held up by the CLI's usage
// limit (re-queued for its reset, not a spent attempt), or a result, whatever its exit code.

/** How much of the log's end the presets read for usage figures and limit messages. */
const LOG_TAIL_BYTES = 256 * 1024;
/** When a CLI says it hit its limit but not when it resets, try again in an hour. */
const UNKNOWN_RESET_MS = 3_600_000;

export interface FinishedRun {
  result: AgentRunResult;
  /** Aborted when the lease was lost or the runner shut down; its reason says which. */
  stopped: AbortSignal;
  preset: Preset | null;
  timeoutMinutes: number;
  durationMs: number;
  diffStat: DiffStat | null;
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
    const retryAt = limit.resetAt ?? new Date(run.now.getTime() + UNKNOWN_RESET_MS).toISOString();
    return { kind: "failure", reason: "usage_limit", detail: `usage limit; resets at ${retryAt}`, retryAt };
  }
  return {
    kind: "result",
    markdown: result.resultFromFile || !preset ? result.output : preset.resultText(result.output),
    exitCode: result.exitCode ?? 128,
    durationMs: run.durationMs,
    diffStat: run.diffStat,
    usage: preset?.usage(result.output, logText) ?? null,
  };
}
