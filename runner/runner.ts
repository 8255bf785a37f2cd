import { mkdirSync } from "node:fs";
import { canonicalPath } from "./workspace/names.ts";
import { join } from "node:path";
import type { Config } from "../src/config/config.ts";
import type { ClaimedRun, RunOutcome } from "../src/app/runs.ts";
import type { Clock } from "../src/shared/clock.ts";
import { toCosError } from "../src/shared/errors.ts";
import { runDirOf } from "../src/shared/run-folder.ts";
import { agentEnvironment, BASE_ENV_NAMES, checkEnvironment, RunRecords, runAgent, supervisedArgv, type AgentRunSpec } from "./agent.ts";
import { checksLine } from "../src/domain/task/checks.ts";
import { runChecks } from "./checks.ts";
import { runFiles } from "./agent/run-folder.ts";
import { CliVersions, findExecutable } from "./cli-version.ts";
import type { RunnerPort } from "./port.ts";
import { wireRun, writeWiringFiles } from "./mcp-wiring.ts";
import { agentCommand, PRESETS } from "./presets.ts";
import { withLastLines } from "./agent/last-lines.ts";
import { deliverReport, saveReport, unsentReports, type PendingReport } from "./reports.ts";
import { runOutcome } from "./run-outcome.ts";
import { sandboxLaunch, type RunnerSandbox } from "./sandbox/runner-sandbox.ts";
import { within } from "./sandbox/paths.ts";
import { statePathsFor } from "./sandbox/state.ts";
import { SandboxWatch } from "./sandbox/watch.ts";
import { finishWorkspace, prepareWorkspace } from "./workspace.ts";
import { removeWorktree } from "./workspace/discard.ts";
import { guardRun } from "./workspace/guard.ts";

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
  /** Told when each run starts and ends. */
  events?: RunEvents;
  /** How agents run (DESIGN §12), decided at start by `startSandbox`; absent: unsandboxed. */
  sandbox?: RunnerSandbox;
  /** Another part of the process (cos serve's watch) reports an unreachable store: failed claims say nothing. */
  storeWatched?: boolean;
}

interface ActiveRun {
  run: ClaimedRun;
  abort: AbortController;
  done: Promise<void>;
}

/** How often a runner with runs under way asks whether any must stop (a cancel). */
const STOP_CHECK_MS = 1_000;
/** A cancelled agent gets this long after TERM before KILL: the person asked for it to stop now. */
export const CANCEL_GRACE_MS = 2_000;

/** Why a run was stopped from outside: its task was cancelled. Carries the short grace a cancel gets. */
export class RunCancelled extends Error {
  readonly graceMs = CANCEL_GRACE_MS;
  constructor() {
    super("the task was cancelled");
  }
}

/** What a run's start and end look like to whoever watches this runner (`cos tick --wait` prints them). */
export interface RunEvents {
  started?(run: ClaimedRun): void;
  ended?(run: ClaimedRun, outcome: RunOutcome): void;
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
  private stopChecks: NodeJS.Timeout | null = null;
  private readonly records: RunRecords;
  private readonly versions = new CliVersions();
  /** Ends the waits of reports that could not be sent yet when the runner stops (their files stay). */
  private readonly stopping$ = new AbortController();
  private readonly sending = new Set<Promise<unknown>>();
  /** Consecutive failed claims: the first is logged, and the one that gets through again. */
  private claimFailures = 0;
  private stopCheckFailures = 0;

  constructor(
    private readonly port: RunnerPort,
    private readonly options: RunnerOptions,
  ) {
    this.records = new RunRecords(join(options.dataDir, "pids"));
  }

  get freeSlots(): number {
    return Math.max(0, this.options.slots - this.active.size);
  }

  /** Starts polling for work after reaping what a dead runner left running and resending what it left unsent. */
  start(): void {
    this.reapOrphans();
    this.resendUnsent();
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
        if (this.claimFailures) this.options.log?.(`runner ${this.options.id}: claiming again`);
        this.claimFailures = 0;
      } catch (error) {
        const cos = toCosError(error);
        // In cos serve the store's watch says once that the store is away; the runner need not say it too.
        if (cos.code === "unavailable" && this.options.storeWatched) return;
        if (this.claimFailures++ === 0) this.options.log?.(`runner ${this.options.id}: claim failed: ${cos.message}`);
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

  /**
   * Stops claiming; runs under way are stopped and reported as failed, so their tasks go back to the
   * queue. A report that cannot be sent now stays in its run folder for the next runner to send.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.stopChecks) clearInterval(this.stopChecks);
    this.stopChecks = null;
    if (this.polling) await this.polling;
    for (const active of this.active.values()) active.abort.abort(new Error("the runner shut down during the run"));
    // One try for each report of a run stopped just now; a store that is away leaves them in their folders.
    setTimeout(() => this.stopping$.abort(), 2_000).unref();
    await this.idle();
    this.stopping$.abort();
    await Promise.all(this.sending);
  }

  /** Sends the reports a runner on this machine finished but could not send (it stopped, or died, first). */
  resendUnsent(): void {
    for (const { runDir, report } of unsentReports(join(this.options.dataDir, "runs"))) {
      if ([...this.active.values()].some((a) => a.run.taskId === report.taskId && a.run.attempt === report.attempt)) continue;
      const log = (line: string) => this.options.log?.(`runner ${this.options.id}: #${report.taskId}.${report.attempt} ${line}`);
      log(`sending the report left in ${runDir}`);
      this.track(deliverReport(this.port, runDir, report, { log, stopped: this.stopping$.signal }));
    }
  }

  private track(sending: Promise<unknown>): Promise<unknown> {
    this.sending.add(sending);
    void sending.finally(() => this.sending.delete(sending));
    return sending;
  }

  private launch(run: ClaimedRun): void {
    const abort = new AbortController();
    const done = this.execute(run, abort).finally(() => {
      this.active.delete(run.taskId);
      if (!this.active.size && this.stopChecks) {
        clearInterval(this.stopChecks);
        this.stopChecks = null;
      }
    });
    this.active.set(run.taskId, { run, abort, done });
    this.stopChecks ??= setInterval(() => void this.checkStops(), STOP_CHECK_MS);
  }

  /**
   * Asks the server which runs under way must stop, and stops them: a cancelled task's agent is ended
   * within moments instead of at its next heartbeat.
   */
  async checkStops(): Promise<void> {
    if (!this.port.stops || !this.active.size) return;
    try {
      const runs = [...this.active.values()].map((a) => ({ taskId: a.run.taskId, attempt: a.run.attempt }));
      for (const stop of await this.port.stops(this.options.id, runs)) {
        const active = this.active.get(stop.taskId);
        if (!active || active.run.attempt !== stop.attempt || active.abort.signal.aborted) continue;
        active.abort.abort(stop.reason === "cancelled" ? new RunCancelled() : new Error("the run is no longer this runner's (its lease was lost)"));
      }
      this.stopCheckFailures = 0;
    } catch (error) {
      const cos = toCosError(error);
      // Asked every second: a store or server that is away is said once (by the watch, in cos serve).
      if (cos.code === "unavailable" && this.options.storeWatched) return;
      if (this.stopCheckFailures++ === 0) this.options.log?.(`runner ${this.options.id}: stop check failed: ${cos.message}`);
    }
  }

  private async execute(run: ClaimedRun, abort: AbortController): Promise<void> {
    const { config, id: runner } = this.options;
    const log = (text: string) => this.options.log?.(`runner ${runner}: #${run.taskId}.${run.attempt} ${text}`);
    const agent = config.agents[run.agent];
    const preset = agent?.preset ? PRESETS[agent.preset] : null;
    const started = Date.now();
    let leaseLost = false;
    const runDir = runDirOf(this.options.dataDir, run);
    // Written to the run's folder first, then sent until accepted or refused as stale: a store or server
    // that is away when the run ends costs a wait, never the work or an attempt.
    const report = async (outcome: RunOutcome) => {
      this.options.events?.ended?.(run, outcome);
      if (leaseLost && outcome.kind !== "stopped") return log("lease lost; the result is not reported");
      const pending: PendingReport = { taskId: run.taskId, attempt: run.attempt, runner, outcome, finishedAt: this.options.clock().toISOString() };
      saveReport(runDir, pending);
      await this.track(deliverReport(this.port, runDir, pending, { log, stopped: this.stopping$.signal }));
    };
    this.options.events?.started?.(run);
    if (!agent) {
      return report({ kind: "failure", reason: "exit_code", detail: `agent "${run.agent}" is not configured on runner ${runner}`, retryAt: null });
    }
    // Heartbeats every quarter lease ride out an outage shorter than the lease: a failed one is tried
    // again at the next beat; only a refusal (the lease is gone) stops the run.
    let missed = 0;
    const heartbeat = setInterval(async () => {
      try {
        await this.port.heartbeat(run.taskId, run.attempt, runner);
        if (missed) log(`heartbeat: renewed again after ${missed} missed`);
        missed = 0;
      } catch (error) {
        const cos = toCosError(error);
        // A refused heartbeat may be a cancel: ask first, so that a cancelled run is stopped as one.
        if (cos.code === "illegal_state") await this.checkStops();
        if (cos.code === "illegal_state" && !abort.signal.aborted) {
          leaseLost = true;
          abort.abort(new Error(cos.message));
          return log(`heartbeat: ${cos.message}`);
        }
        if (missed++ === 0) log(`heartbeat: ${cos.message}`);
      }
    }, Math.max(1000, (config.resolver.leaseSeconds * 1000) / 4));
    let release = () => {};
    try {
      const project = run.project ? config.projects[run.project] : undefined;
      const workspace = await prepareWorkspace({
        taskId: run.taskId,
        isolation: run.isolation,
        project: project && run.project ? { name: run.project, repo: project.repo, mainBranch: project.mainBranch } : null,
        worktreeRoot: config.worktreeRoot,
        scratchRoot: join(this.options.dataDir, "scratch"),
      });
      // What the run may not change in the repository, recorded before the agent starts (guard.ts).
      const guard = await guardRun(workspace, run.taskId, run.attempt);
      release = () => guard?.release();
      const endpoint = run.mcpToken ? { url: this.options.mcpUrl ?? null, token: run.mcpToken } : null;
      const allowed = Object.fromEntries(agent.env.flatMap((name) => (this.options.sourceEnv[name] !== undefined ? [[name, this.options.sourceEnv[name]!]] : [])));
      const sandbox = this.options.sandbox;
      // In cos's sandbox a CLI's own (Codex's) steps aside: sandboxes do not nest.
      const wiring = wireRun(preset, { argv: agentCommand(agent), runDir, endpoint, env: allowed, sandboxed: sandbox?.mode === "bwrap" });
      mkdirSync(runDir, { recursive: true });
      writeWiringFiles(wiring);
      const versionEnv = { ...this.baseEnv(), ...allowed, ...wiring.env };
      // `--version` runs here, outside the sandbox: never a binary a sandboxed agent could have rewritten.
      const planted = sandbox?.mode === "bwrap" && wiring.argv[0] ? agentWritableBinary(wiring.argv[0], versionEnv, [workspace.dir, runDir, ...statePathsFor(agent.preset, agent.statePaths, versionEnv.HOME ?? "/", versionEnv).map((p) => p.path)]) : null;
      if (planted) log(`warning: not reading the version of ${planted}: it lies where agents write`);
      const cli = agent.preset && wiring.argv[0] && !planted ? await this.versions.of(agent.preset, wiring.argv[0], versionEnv, runDir) : null;
      if (cli?.warning) log(`warning: ${cli.warning}`);
      const spec: AgentRunSpec = {
        argv: supervisedArgv(wiring.argv),
        prompt: run.prompt,
        taskId: run.taskId,
        attempt: run.attempt,
        workdir: workspace.dir,
        runDir,
        envAllow: agent.env,
        sourceEnv: this.options.sourceEnv,
        extraEnv: wiring.env,
        timeoutMs: agent.timeoutMinutes * 60_000,
        maxCaptureBytes: preset?.captureBytes,
      };
      let discardArgs = () => {};
      // What the agent's sandbox is made of; its checks run in the same (runChecks).
      const sandboxRun = {
        taskId: run.taskId,
        attempt: run.attempt,
        workspace: workspace.kind,
        workdir: workspace.dir,
        preset: agent.preset,
        statePaths: agent.statePaths,
        network: agent.network,
        ...(guard ? { git: guard.dirs } : {}),
      };
      if (sandbox?.mode === "bwrap") {
        const launch = await sandboxLaunch(sandbox, { ...sandboxRun, runDir, env: agentEnvironment(spec, runFiles(runDir)), command: wiring.argv });
        if ("refusal" in launch) {
          clearInterval(heartbeat);
          return await report({ kind: "failure", reason: "exit_code", detail: launch.refusal, retryAt: null });
        }
        spec.argv = supervisedArgv(launch.argv, launch.argsFile);
        discardArgs = launch.discard;
      }
      const watch = new SandboxWatch();
      let result;
      try {
        result = await runAgent(spec, {
          signal: abort.signal,
          onSpawn: (pid) => {
            this.records.record(run.taskId, run.attempt, pid);
            if (sandbox?.mode === "bwrap") watch.start(pid);
          },
        });
      } finally {
        discardArgs();
      }
      // Nothing of the run may be alive, and nothing it must not touch changed, before anything is committed.
      const survivors = await watch.settle();
      const problems = [
        ...(survivors.length ? [`processes of the run survived it (host pids ${survivors.join(", ")})`] : []),
        ...((await guard?.check()) ?? []),
      ];
      if (problems.length) {
        log(`refused: ${problems.join("; ")}`);
        return await report({ kind: "failure", reason: "tampered", detail: `the run changed what it must not: ${problems.join("; ")}`, retryAt: null });
      }
      const finished = await finishWorkspace(workspace, `cos: task #${run.taskId} attempt ${run.attempt}: ${run.title}`);
      const stopCancelled = async () => {
        // The agent is gone; what it left is committed on its branch, and its worktree is freed.
        let worktree: { path: string; removed: boolean } | null = null;
        if (run.isolation === "worktree" && project && run.project) {
          const path = workspace.dir;
          try {
            await removeWorktree({ name: run.project, repo: project.repo, mainBranch: project.mainBranch }, run.taskId, config.worktreeRoot);
            worktree = { path, removed: true };
          } catch (error) {
            log(`the cancelled run's worktree could not be removed: ${toCosError(error).message}`);
            worktree = { path, removed: false };
          }
        }
        log("stopped: the task was cancelled");
        return await report({ kind: "stopped", worktree });
      };
      if (abort.signal.reason instanceof RunCancelled) return await stopCancelled();
      const outcome = withLastLines(
        runOutcome({
          result,
          stopped: abort.signal,
          preset,
          timeoutMinutes: agent.timeoutMinutes,
          durationMs: Date.now() - started,
          diffStat: finished.diffStat,
          changes: finished.changes,
          cli,
          now: this.options.clock(),
        }),
        result,
      );
      if (outcome.kind === "result") log(`agent exited ${result.exitCode ?? result.signal}`);
      const checks = project?.checks ?? [];
      // DESIGN §14: a finished run's work is checked before it reaches review. A run that changed nothing has
      // nothing to check; a failed one is not reviewed at all.
      if (outcome.kind !== "result" || outcome.exitCode !== 0 || !checks.length || workspace.kind === "scratch") return await report(outcome);
      if (!finished.diffStat?.files) return await report({ ...outcome, checks: [] });
      const checked = await runChecks({
        taskId: run.taskId,
        attempt: run.attempt,
        checks,
        workspace,
        runDir,
        env: checkEnvironment({ taskId: run.taskId, attempt: run.attempt, workdir: workspace.dir, envAllow: agent.env, sourceEnv: this.options.sourceEnv }),
        // The agent's sandbox but its CLI's state folders: those hold the CLI's login and this run's MCP wiring.
        sandbox: sandbox?.mode === "bwrap" ? { runner: sandbox, run: { ...sandboxRun, preset: undefined } } : null,
        onSpawn: (pid) => this.records.record(run.taskId, run.attempt, pid),
        signal: abort.signal,
      });
      const tampered = [...checked.problems, ...((await guard?.check()) ?? [])];
      if (tampered.length) {
        log(`refused after the checks: ${tampered.join("; ")}`);
        return await report({ kind: "failure", reason: "tampered", detail: `a check changed what it must not: ${tampered.join("; ")}`, retryAt: null });
      }
      if (abort.signal.reason instanceof RunCancelled) return await stopCancelled();
      if (abort.signal.aborted) {
        return await report({ kind: "failure", reason: "lease_lost", detail: String((abort.signal.reason as Error)?.message ?? "stopped"), retryAt: null });
      }
      log(`checks: ${checksLine(checked.records)}`);
      return await report({ ...outcome, checks: checked.records });
    } catch (error) {
      return await report({ kind: "failure", reason: "exit_code", detail: `the run could not go on: ${toCosError(error).message}`, retryAt: null });
    } finally {
      // Beating until the report is in: a report waiting out an outage keeps its lease.
      clearInterval(heartbeat);
      release();
      this.records.forget(run.taskId, run.attempt);
    }
  }

  /** The variables every agent gets from the runner's environment (DESIGN §7), for the CLI's --version. */
  private baseEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of BASE_ENV_NAMES) if (this.options.sourceEnv[name] !== undefined) env[name] = this.options.sourceEnv[name]!;
    return env;
  }

  /** Ends the agents of runner processes that are gone (see RunRecords). */
  reapOrphans(): number {
    return this.records.reapOrphans();
  }
}

/** The CLI's binary (its real path) when it lies in a folder a sandboxed agent may write, else null. */
function agentWritableBinary(command: string, env: Record<string, string>, writable: string[]): string | null {
  const binary = findExecutable(command, env.PATH);
  if (!binary) return null;
  const real = canonicalPath(binary);
  return writable.map(canonicalPath).some((root) => within(root, real)) ? real : null;
}

