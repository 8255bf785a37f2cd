import type { ProjectRef } from "../../src/app/ports.ts";
import { openGit } from "./git.ts";
import { taskBranch } from "./names.ts";

/** The task's patch: its branch against the main branch, or the merge commit's changes once it was merged. */
export async function taskPatch(project: ProjectRef, taskId: number, mergeCommit: string | null): Promise<string> {
  const range = mergeCommit ? `${mergeCommit}^1..${mergeCommit}` : `${project.mainBranch}...${taskBranch(taskId)}`;
  // No external diff or textconv program: the patch is git's own text, whatever the repository configures.
  return openGit(project.repo).run(["diff", "--no-color", "--no-ext-diff", "--no-textconv", range]);
}
