import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { ProjectRef } from "../../src/app/ports.ts";
import { taskBranch } from "./names.ts";

const run = promisify(execFile);
/** A review page or chat file, not an archive: a larger patch is refused rather than held in memory. */
const MAX_PATCH_BYTES = 64 * 1024 * 1024;

/** The task's patch: its branch against the main branch, or the merge commit's changes once it was merged. */
export async function taskPatch(project: ProjectRef, taskId: number, mergeCommit: string | null): Promise<string> {
  const range = mergeCommit ? `${mergeCommit}^1..${mergeCommit}` : `${project.mainBranch}...${taskBranch(taskId)}`;
  const { stdout } = await run("git", ["-C", project.repo, "diff", "--no-color", range], { maxBuffer: MAX_PATCH_BYTES });
  return stdout;
}
