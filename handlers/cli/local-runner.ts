import { hostname } from "node:os";
import type { AppContext } from "../../src/app/context.ts";
import type { Config } from "../../src/config/config.ts";
import type { Env } from "../../src/config/env.ts";
import { envFilesIn, startSandbox, type RunnerSandbox } from "../../runner/sandbox/runner-sandbox.ts";
import { loadTask } from "../../src/app/tasks.ts";
import { listTasks } from "../../src/app/views.ts";
import { dataDirOf } from "../../src/shared/run-folder.ts";
import { Runner } from "../../runner/runner.ts";
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

export function localRunner(
  ctx: AppContext,
  io: CliIo,
  id: string,
  slots: number,
  mcpUrl: string | null = null,
  sandbox: RunnerSandbox | undefined = undefined,
): Runner {
  return new Runner(localPort(ctx), {
    id,
    slots,
    labels: ctx.config.runner.labels,
    config: ctx.config,
    dataDir: dataDirOf(ctx.config),
    sourceEnv: io.env,
    clock: ctx.clock,
    log: (line) => io.err(line),
    mcpUrl,
    ...(sandbox ? { sandbox } : {}),
  });
}

/** `cos tick --wait`: runs, in this process, the tasks this pass dispatched, until their results are in. */
export async function runDispatched(ctx: AppContext, io: CliIo, taskIds: number[], sandbox: RunnerSandbox) {
  const runner = localRunner(ctx, io, `tick-${hostname()}-${process.pid}`, taskIds.length, null, sandbox);
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
