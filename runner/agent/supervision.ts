import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../src/shared/paths.ts";
import { killProcessGroup, processAlive, processGroupAlive } from "./process-group.ts";

// No agent outlives its runner (DESIGN §12). Two guards: a supervisor in the agent's process group that kills
// the group when the runner dies, even by kill -9; and a record per run on disk, so that the next runner to
// start ends the groups of a runner that is gone, should the supervisor have gone with it.

/**
 * The agent's argv run under supervise.mjs, which watches this process. With `sandboxArgs` (the file of
 * bwrap's options), `argv` is bwrap's and the supervisor hands it that file on fd 3.
 */
export function supervisedArgv(argv: string[], sandboxArgs: string | null = null): string[] {
  return [process.execPath, join(packageRoot(), "runner", "supervise.mjs"), String(process.pid), ...(sandboxArgs ? ["--sandbox-args", sandboxArgs] : []), ...argv];
}

interface RunRecord {
  runnerPid: number;
  pid: number;
  taskId: number;
  attempt: number;
}

/** One file per running agent in `dir`: which runner process started which process group. */
export class RunRecords {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  record(taskId: number, attempt: number, pid: number): void {
    const record: RunRecord = { runnerPid: process.pid, pid, taskId, attempt };
    writeFileSync(this.path(taskId, attempt), JSON.stringify(record));
  }

  forget(taskId: number, attempt: number): void {
    rmSync(this.path(taskId, attempt), { force: true });
  }

  /** Process groups recorded by a runner process that is gone: nobody will report them, so end them. */
  reapOrphans(): number {
    let reaped = 0;
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      try {
        const record = JSON.parse(readFileSync(path, "utf8")) as RunRecord;
        if (record.runnerPid !== process.pid && !processAlive(record.runnerPid)) {
          if (processGroupAlive(record.pid) && killProcessGroup(record.pid, "SIGKILL")) reaped++;
          rmSync(path, { force: true });
        }
      } catch {
        rmSync(path, { force: true });
      }
    }
    return reaped;
  }

  private path(taskId: number, attempt: number): string {
    return join(this.dir, `${taskId}-${attempt}.json`);
  }
}

