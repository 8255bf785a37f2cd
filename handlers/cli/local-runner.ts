import { hostname } from "node:os";
import type { AppContext } from "../../src/app/context.ts";
import { loadTask } from "../../src/app/tasks.ts";
import { listTasks } from "../../src/app/views.ts";
import { dataDirOf } from "../../src/shared/run-folder.ts";
import { Runner } from "../../runner/runner.ts";
import { localPort } from "../../runner/port.ts";
import { collectGarbage, type GcReport } from "../../runner/workspace.ts";
import type { CliIo } from "./io.ts";

export function localRunner(ctx: AppContext, io: CliIo, id: string, slots: number, mcpUrl: string | null = null): Runner {
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
  });
}

/** `cos tick --wait`: runs, in this process, the tasks this pass dispatched, until their results are in. */
export async function runDispatched(ctx: AppContext, io: CliIo, taskIds: number[]) {
  const runner = localRunner(ctx, io, `tick-${hostname()}-${process.pid}`, taskIds.length);
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
