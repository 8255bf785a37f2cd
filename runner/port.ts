import type { ClaimedRun, ClaimRequest, RunOutcome, RunStop } from "../src/app/runs.ts";
import { claimRuns, heartbeat, reportRun, runStops } from "../src/app/runs.ts";
import type { AppContext } from "../src/app/context.ts";
import { CosError, type ErrorCode } from "../src/shared/errors.ts";

/** What a runner needs from the server: the same three calls in-process or over HTTP. */
export interface RunnerPort {
  claim(request: ClaimRequest): Promise<ClaimedRun[]>;
  heartbeat(taskId: number, attempt: number, runner: string): Promise<{ leaseUntil: string }>;
  report(taskId: number, attempt: number, runner: string, outcome: RunOutcome): Promise<void>;
  /**
   * Which of the runs under way must stop now (their task was cancelled, or they are no longer this
   * runner's). Without it a runner learns so at its next heartbeat.
   */
  stops?(runner: string, runs: { taskId: number; attempt: number }[]): Promise<RunStop[]>;
}

export function localPort(ctx: AppContext): RunnerPort {
  return {
    claim: (request) => claimRuns(ctx, request),
    heartbeat: (taskId, attempt, runner) => heartbeat(ctx, taskId, attempt, runner),
    report: async (taskId, attempt, runner, outcome) => {
      await reportRun(ctx, taskId, attempt, runner, outcome);
    },
    stops: (runner, runs) => runStops(ctx, runner, runs),
  };
}

/** The runner protocol of `cos serve`'s HTTP API, with the bearer token. */
export function httpPort(server: string, token: string, fetchImpl: typeof fetch = fetch): RunnerPort {
  const base = server.replace(/\/+$/, "");
  const post = async <T>(path: string, body: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await fetchImpl(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new CosError("internal", `cannot reach ${base}: ${(error as Error).message}`);
    }
    const payload = (await response.json().catch(() => ({}))) as { error?: { code: ErrorCode; message: string } } & T;
    if (!response.ok) {
      throw new CosError(payload.error?.code ?? "internal", payload.error?.message ?? `${path}: HTTP ${response.status}`);
    }
    return payload;
  };
  return {
    claim: async (request) => (await post<{ runs: ClaimedRun[] }>("/runner/claim", request)).runs,
    heartbeat: (taskId, attempt, runner) => post("/runner/heartbeat", { taskId, attempt, runner }),
    report: async (taskId, attempt, runner, outcome) => {
      await post("/runner/report", { taskId, attempt, runner, outcome });
    },
    stops: async (runner, runs) => (await post<{ stop: RunStop[] }>("/runner/stops", { runner, runs })).stop,
  };
}
