import { taskBranch } from "../domain/task/refs.ts";
import type { TaskState, Verdict } from "../domain/task/task.ts";
import { IllegalStateError } from "../shared/errors.ts";
import type { AppContext } from "./context.ts";
import { metaOf } from "./execute.ts";
import type { ProjectRef } from "./ports.ts";
import { loadTask, recordVerdict, runTaskCommand } from "./tasks.ts";

/**
 * A person's verdict with its git consequences (DESIGN §7): approve merges the task's branch into the
 * project's main branch first, and a conflict refuses the approval, names the files and leaves the
 * task in review; discard keeps the commits under refs/cos/discarded/<id> and removes the worktree.
 * Every adapter (CLI, chat, HTTP) decides through here.
 */
export async function decideReview(
  ctx: AppContext,
  id: number,
  verdict: Verdict,
  notes: string | null,
  actor: string,
  attempt: number | null = null,
): Promise<{ state: TaskState }> {
  const { state } = await loadTask(ctx, id);
  const project = worktreeProject(ctx, state);
  if (!project || state.status !== "review") return recordVerdict(ctx, id, verdict, notes, actor, attempt);
  if (attempt !== null && attempt !== state.attempt) return recordVerdict(ctx, id, verdict, notes, actor, attempt);

  const meta = () => metaOf(ctx, actor);
  if (verdict === "approved") {
    const merge = await ctx.workspace.mergeTask(project, id);
    if (!merge.merged) {
      await runTaskCommand(ctx, id, meta(), () => ({
        type: "RecordMergeConflict",
        data: { branch: taskBranch(id), into: project.mainBranch, files: merge.conflicts, message: merge.message },
      }));
      throw new IllegalStateError(
        merge.conflicts.length
          ? `cannot approve #${id}: merging ${taskBranch(id)} into ${project.mainBranch} conflicts in ${merge.conflicts.join(", ")}; ` +
              `send it back so the agent rebases onto ${project.mainBranch}`
          : `cannot approve #${id}: ${merge.message}`,
      );
    }
    await runTaskCommand(ctx, id, meta(), () => ({
      type: "RecordMerge",
      data: { branch: taskBranch(id), into: project.mainBranch, commit: merge.commit },
    }));
    await recordVerdict(ctx, id, verdict, notes, actor, attempt);
    return runTaskCommand(ctx, id, meta(), () => ({
      type: "RecordWorktreeRemoved",
      data: { path: ctx.workspace.worktreePath(id), keptRef: null },
    }));
  }
  const decided = await recordVerdict(ctx, id, verdict, notes, actor, attempt);
  if (verdict === "discarded") {
    const { keptRef } = await ctx.workspace.discardTask(project, id);
    return runTaskCommand(ctx, id, meta(), () => ({
      type: "RecordWorktreeRemoved",
      data: { path: ctx.workspace.worktreePath(id), keptRef },
    }));
  }
  return decided;
}

/**
 * Whether a verdict on `attempt` is still open: the task is in review on that very attempt. A card of an
 * earlier attempt, a repeated tap, a page left open after a verdict in chat: each is "already decided"
 * and records nothing (DESIGN §10). Chat and the review pages ask this one rule.
 */
export function openForVerdict(state: TaskState, attempt: number): boolean {
  return state.status === "review" && state.attempt === attempt;
}

/**
 * A person's verdict on the attempt they saw (a card's, a page's): recorded through `decideReview` while
 * that attempt is open for it, else nothing is recorded and `decided` is false, with the task as it stands.
 */
export async function decideAttempt(
  ctx: AppContext,
  id: number,
  attempt: number,
  verdict: Verdict,
  notes: string | null,
  actor: string,
): Promise<{ decided: boolean; state: TaskState }> {
  const { state } = await loadTask(ctx, id);
  if (!openForVerdict(state, attempt)) return { decided: false, state };
  return { decided: true, state: (await decideReview(ctx, id, verdict, notes, actor, attempt)).state };
}

/** The project whose worktree holds this task's work, when it ran in one. */
export function worktreeProject(ctx: AppContext, state: TaskState): ProjectRef | null {
  if (state.isolation !== "worktree" || !state.project || state.dispatchedAt === null) return null;
  const project = ctx.config.projects[state.project];
  return project ? { name: state.project, repo: project.repo, mainBranch: project.mainBranch } : null;
}
