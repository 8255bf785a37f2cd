import { hostname } from "node:os";
import type { AppContext } from "../../src/app/context.ts";
import type { Config } from "../../src/config/config.ts";
import type { Env } from "../../src/config/env.ts";
import { envFilesIn, startSandbox, type RunnerSandbox } from "../../runner/sandbox/runner-sandbox.ts";
import { loadTask } from "../../src/app/tasks.ts";
import { listTasks } from "../../src/app/views.ts";
import { dataDirOf } from "../../src/shared/run-folder.ts";
import { Runner, type RunEvents } from "../../runner/runner.ts";
import { durationWords } from "../../src/app/run-words.ts";
import { localPort } from "../../runner/port.ts";
import { collectGarbage, type GcReport } from "../../runner/workspace.ts";
import type { CliIo } from "./io.ts";

/**
 * `runner.sandbox` decided for this process (DESIGN §12): probes bubblewrap, prints the warning when agents
 * will run unsandboxed, refuses to start when it is required and missing. What no agent may see: the data
 * folder, the worktrees, the config file, the .env file and the store of this process.
 */
export function runnerSandbox(config: Config, env: Env, io: CliIo, configFile: string | null): Promise<RunnerSandbox> {
  return startSandbox(config.runner.sandbox, {
    path: io.env.PATH,
    home: io.env.HOME,
    warn: (line) => io.err(line),
    places: {
      dataDir: dataDirOf(config),
      worktreeRoot: config.worktreeRoot,
      configFile,
      envFiles: envFilesIn(io.cwd),
      dbUrl: env.COS_DB_URL,
      cwd: io.cwd,
      hide: config.runner.hide,
    },
  });
}

/** A runner in this process: `cos serve`'s, `cos tick --wait`'s, the demo's. */
export function localRunner(
  ctx: AppContext,
  io: CliIo,
  id: string,
  /** "config": the configuration's `runner.slots` and `runner.labels`, read again at each claim (`cos serve`). */
  slots: number | "config",
  options: { mcpUrl?: string | null; sandbox?: RunnerSandbox | undefined; events?: RunEvents; storeWatched?: boolean } = {},
): Runner {
  const { mcpUrl = null, sandbox, events, storeWatched = false } = options;
  return new Runner(localPort(ctx), {
    ...(events ? { events } : {}),
    id,
    get slots() {
      return slots === "config" ? ctx.config.runner.slots : slots;
    },
    get labels() {
      return ctx.config.runner.labels;
    },
    // Read at each claim and run: a configuration `cos serve` read again applies to the next run.
    get config() {
      return ctx.config;
    },
    dataDir: dataDirOf(ctx.config),
    sourceEnv: io.env,
    clock: ctx.clock,
    log: (line) => io.err(line),
    mcpUrl,
    ...(sandbox ? { sandbox } : {}),
    storeWatched,
  });
}

/** Lines saying each run's start and end, as `cos tick --wait` prints them while it waits. */
export function runProgress(say: (line: string) => void, now: () => number = Date.now): RunEvents {
  const started = new Map<number, number>();
  return {
    started: (run) => {
      started.set(run.taskId, now());
      say(`#${run.taskId} ${run.title}: started (${run.agent}, attempt ${run.attempt})`);
    },
    ended: (run, outcome) => {
      const took = durationWords(now() - (started.get(run.taskId) ?? now()));
      const how =
        outcome.kind === "stopped"
          ? "stopped: the task was cancelled"
          : outcome.kind === "failure"
            ? `failed: ${outcome.detail}`
            : outcome.exitCode === 0
              ? "finished: its result is in review"
              : `failed: exit code ${outcome.exitCode}`;
      say(`#${run.taskId} ${run.title}: ${how} (after ${took})`);
      for (const line of outcome.kind !== "stopped" ? (outcome.tail ?? []) : []) say(`  │ ${line}`);
    },
  };
}

/** `cos tick --wait`: runs, in this process, the tasks this pass dispatched, until their results are in; `say` tells each start and end. */
export async function runDispatched(ctx: AppContext, io: CliIo, taskIds: number[], sandbox: RunnerSandbox, say: (line: string) => void = () => {}) {
  const runner = localRunner(ctx, io, `tick-${hostname()}-${process.pid}`, taskIds.length, { sandbox, events: runProgress(say) });
  runner.reapOrphans();
  await runner.poll(taskIds);
  await runner.idle();
  return Promise.all(
    taskIds.map(async (id) => {
      const { state } = await loadTask(ctx, id);
      return { taskId: id, status: state.status, attempt: state.attempt, summary: state.result?.summary ?? null };
    }),
  );
}

export async function garbageCollect(ctx: AppContext, dryRun: boolean): Promise<GcReport & { dryRun: boolean }> {
  const open = await listTasks(ctx, "open");
  const projects = Object.entries(ctx.config.projects).map(([name, p]) => ({ name, repo: p.repo, mainBranch: p.mainBranch }));
  const report = await collectGarbage(projects, ctx.config.worktreeRoot, new Set(open.map((t) => t.id)), { dryRun });
  return { ...report, dryRun };
}
