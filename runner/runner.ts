import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../src/config/config.ts";
import type { ClaimedRun, RunOutcome } from "../src/app/runs.ts";
import type { Clock } from "../src/shared/clock.ts";
import { toCosError } from "../src/shared/errors.ts";
import { packageRoot } from "../src/shared/paths.ts";
import { killProcessGroup, processGroupAlive, runAgent } from "./agent.ts";
import type { RunnerPort } from "./port.ts";
import { wireMcp, writeWiringFiles } from "./mcp-wiring.ts";
import { agentCommand, PRESETS, resultText } from "./presets.ts";
import { finishWorkspace, prepareWorkspace } from "./workspace.ts";

export interface RunnerOptions {
  id: string;
  slots: number;
  labels: string[];
  config: Pick<Config, "agents" | "projects" | "worktreeRoot" | "resolver">;
  /** Holds runs/ (prompt, result and log of every run), scratch/ and pids/. */
  dataDir: string;
  /** Where the agents' PATH, HOME, LANG and allowed variables come from. */
  sourceEnv: Record<string, string | undefined>;
  clock: Clock;
  pollMs?: number;
  log?: (line: string) => void;
  /** The MCP endpoint agents reach (cos serve's /mcp), passed as COS_MCP_URL; null or absent: none. */
  mcpUrl?: string | null;
}

interface ActiveRun {
  run: ClaimedRun;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Claims dispatched tasks through a port (in-process or HTTP), prepares each workspace, runs the
 * agent under a supervisor that dies with this process, renews the lease while it runs, and reports.
 */
export class Runner {
  private readonly active = new Map<number, ActiveRun>();
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private polling: Promise<void> | null = null;

  constructor(
    private readonly port: RunnerPort,
    private readonly options: RunnerOptions,
  ) {
    mkdirSync(this.pidDir, { recursive: true });
  }

  get freeSlots(): number {
    return Math.max(0, this.options.slots - this.active.size);
  }

  private get pidDir(): string {
    return join(this.options.dataDir, "pids");
  }

  /** Starts polling for work after reaping what a dead runner left running. */
  start(): void {
    this.reapOrphans();
    const tick = () => {
      if (this.stopping) return;
      this.timer = setTimeout(async () => {
        await this.poll();
        tick();
      }, this.options.pollMs ?? 500);
    };
    void this.poll().then(tick);
  }

  /** One claim for the free slots (only `taskIds`, when given); the runs go on in the background. */
  async poll(taskIds: number[] | null = null): Promise<ClaimedRun[]> {
    if (this.polling) await this.polling;
    let claimed: ClaimedRun[] = [];
    this.polling = (async () => {
      try {
        claimed = await this.port.claim({
          runner: this.options.id,
          slots: this.stopping ? 0 : this.freeSlots,
          totalSlots: this.options.slots,
          agents: Object.keys(this.options.config.agents),
          labels: this.options.labels,
          taskIds,
        });
        for (const run of claimed) this.launch(run);
      } catch (error) {
        this.options.log?.(`runner ${this.options.id}: claim failed: ${toCosError(error).message}`);
      }
    })();
    await this.polling;
    this.polling = null;
    return claimed;
  }

  /** Resolves when every run under way has reported. */
  async idle(): Promise<void> {
    while (this.active.size) await Promise.all([...this.active.values()].map((a) => a.done));
  }

  /** Stops claiming; runs under way are stopped and reported as failed, so their tasks go back to the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.polling) await this.polling;
    for (const active of this.active.values()) active.abort.abort(new Error("the runner shut down during the run"));
    await this.idle();
  }

  private launch(run: ClaimedRun): void {
    const abort = new AbortController();
    const done = this.execute(run, abort).finally(() => this.active.delete(run.taskId));
    this.active.set(run.taskId, { run, abort, done });
  }

  private async execute(run: ClaimedRun, abort: AbortController): Promise<void> {
    const { config, id: runner } = this.options;
    const log = (text: string) => this.options.log?.(`runner ${runner}: #${run.taskId}.${run.attempt} ${text}`);
    const agent = config.agents[run.agent];
    const started = Date.now();
    let leaseLost = false;
    const report = async (outcome: RunOutcome) => {
      if (leaseLost) return log("lease lost; the result is not reported");
      try {
        await this.port.report(run.taskId, run.attempt, runner, outcome);
      } catch (error) {
        log(`report refused: ${toCosError(error).message}`);
      }
    };
    if (!agent) {
      return report({ kind: "failure", reason: "exit_code", detail: `agent "${run.agent}" is not configured on runner ${runner}`, retryAt: null });
    }
    const heartbeat = setInterval(async () => {
      try {
        await this.port.heartbeat(run.taskId, run.attempt, runner);
      } catch (error) {
        const cos = toCosError(error);
        if (cos.code === "illegal_state") {
          leaseLost = true;
          abort.abort(new Error(cos.message));
        }
        log(`heartbeat: ${cos.message}`);
      }
    }, Math.max(1000, (config.resolver.leaseSeconds * 1000) / 4));
    const pidFile = join(this.pidDir, `${run.taskId}-${run.attempt}.json`);
    try {
      const project = run.project ? config.projects[run.project] : undefined;
      const workspace = await prepareWorkspace({
        taskId: run.taskId,
        isolation: run.isolation,
        project: project && run.project ? { name: run.project, repo: project.repo, mainBranch: project.mainBranch } : null,
        worktreeRoot: config.worktreeRoot,
        scratchRoot: join(this.options.dataDir, "scratch"),
      });
      const runDir = join(this.options.dataDir, "runs", `${run.taskId}-${run.attempt}`);
      const endpoint = run.mcpToken ? { url: this.options.mcpUrl ?? null, token: run.mcpToken } : null;
      const wiring = wireMcp(agent.preset, agentCommand(agent), endpoint, runDir);
      writeWiringFiles(wiring, runDir);
      const result = await runAgent(
        {
          argv: [process.execPath, join(packageRoot(), "runner", "supervise.mjs"), String(process.pid), ...wiring.argv],
          prompt: run.prompt,
          taskId: run.taskId,
          attempt: run.attempt,
          workdir: workspace.dir,
          runDir,
          envAllow: agent.env,
          sourceEnv: this.options.sourceEnv,
          extraEnv: wiring.env,
          timeoutMs: agent.timeoutMinutes * 60_000,
          // Claude Code and Gemini print their result inside one JSON document: keep all of it.
          maxCaptureBytes: agent.preset === "claude-code" || agent.preset === "gemini" ? 8 * 1024 * 1024 : undefined,
        },
        {
          signal: abort.signal,
          onSpawn: (pid) => writeFileSync(pidFile, JSON.stringify({ runnerPid: process.pid, pid, taskId: run.taskId, attempt: run.attempt })),
        },
      );
      clearInterval(heartbeat);
      const finished = await finishWorkspace(workspace, `cos: task #${run.taskId} attempt ${run.attempt}: ${run.title}`);
      const durationMs = Date.now() - started;
      if (abort.signal.aborted) {
        return report({ kind: "failure", reason: "lease_lost", detail: String((abort.signal.reason as Error)?.message ?? "stopped"), retryAt: null });
      }
      if (result.timedOut) {
        return report({ kind: "failure", reason: "timeout", detail: `timed out after ${agent.timeoutMinutes} min`, retryAt: null });
      }
      const preset = agent.preset ? PRESETS[agent.preset] : null;
      const logText = readTail(result.logPath, 256 * 1024);
      const limit = preset?.usageLimit(result.output, logText, this.options.clock());
      if (limit) {
        const retryAt = limit.resetAt ?? new Date(this.options.clock().getTime() + 3600_000).toISOString();
        return report({ kind: "failure", reason: "usage_limit", detail: `usage limit; resets at ${retryAt}`, retryAt });
      }
      log(`agent exited ${result.exitCode ?? result.signal}`);
      return report({
        kind: "result",
        markdown: result.resultFromFile ? result.output : resultText(agent.preset, result.output),
        exitCode: result.exitCode ?? 128,
        durationMs,
        diffStat: finished.diffStat,
        usage: preset?.usage(result.output, logText) ?? null,
      });
    } catch (error) {
      clearInterval(heartbeat);
      return report({ kind: "failure", reason: "exit_code", detail: `the run could not go on: ${toCosError(error).message}`, retryAt: null });
    } finally {
      clearInterval(heartbeat);
      rmSync(pidFile, { force: true });
    }
  }

  /** Process groups recorded by a runner process that is gone: nobody will report them, so end them. */
  reapOrphans(): number {
    let reaped = 0;
    for (const name of readdirSync(this.pidDir)) {
      const path = join(this.pidDir, name);
      try {
        const record = JSON.parse(readFileSync(path, "utf8")) as { runnerPid: number; pid: number };
        if (record.runnerPid !== process.pid && !alive(record.runnerPid)) {
          if (processGroupAlive(record.pid) && killProcessGroup(record.pid, "SIGKILL")) reaped++;
          rmSync(path, { force: true });
        }
      } catch {
        rmSync(path, { force: true });
      }
    }
    return reaped;
  }
}

/** The last `bytes` of a log that may be hundreds of megabytes; "" when it cannot be read. */
export function readTail(path: string, bytes: number): string {
  let fd: number | null = null;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
