import { decideTask, type TaskCommand } from "../domain/task/decide.ts";
import { taskBranch } from "../domain/task/refs.ts";
import { evolveTask, taskStream, type TaskState, type Tier, type Verdict } from "../domain/task/task.ts";
import { crashPoint } from "../shared/crash-points.ts";
import { IllegalStateError } from "../shared/errors.ts";
import type { StoredEvent } from "../store/event-store.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf } from "./execute.ts";
import type { ProjectRef } from "./ports.ts";
import { loadTask, loadTaskIn, recordVerdict, runTaskCommand, toEnvelope } from "./tasks.ts";
import { trustAppendIn } from "./trust.ts";

/**
 * A person's verdict with its git consequences (DESIGN §7): approve merges the task's branch into the
 * project's main branch first, and a conflict refuses the approval, names the files and leaves the
 * task in review; discard keeps the commits under refs/cos/discarded/<id> and removes the worktree.
 * Every adapter (CLI, chat, HTTP) decides through here.
 *
 * Crash-safe (DESIGN §12): each git step can be run again, and the verdict is recorded between them. Killed at
 * any instant, an approval leaves the task in review with main untouched, or in review with its merge already
 * in main (then only approving again is accepted, and it records that merge instead of merging twice), or
 * approved with the merge recorded and perhaps its worktree still there (approving again removes it). A discard
 * leaves it in review with main untouched (its commits perhaps kept already), or discarded.
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
  if (project && unfinished(state, verdict)) return finishRemoval(ctx, state, project, actor);
  if (!project || state.status !== "review") return recordVerdict(ctx, id, verdict, notes, actor, attempt);
  if (attempt !== null && attempt !== state.attempt) return recordVerdict(ctx, id, verdict, notes, actor, attempt);

  if (verdict === "approved") return approve(ctx, state, project, actor, { kind: "verdict", notes, attempt });
  const merged = await ctx.workspace.mergedCommit(project, id);
  if (merged) {
    throw new IllegalStateError(
      `#${id} is merged into ${project.mainBranch} already (${merged.slice(0, 10)}): an approval was cut short before it was recorded; ` +
        `approve it again to record it (it will not merge twice)`,
    );
  }
  if (verdict === "sent_back") return recordVerdict(ctx, id, verdict, notes, actor, attempt);
  const { keptRef } = await ctx.workspace.keepTask(project, id);
  crashPoint("discard:kept");
  await recordVerdict(ctx, id, verdict, notes, actor, attempt);
  crashPoint("discard:recorded");
  await ctx.workspace.removeTask(project, id, "keep-ref");
  crashPoint("discard:removed");
  return runTaskCommand(ctx, id, metaOf(ctx, actor), () => ({ type: "RecordWorktreeRemoved", data: { path: ctx.workspace.worktreePath(id), keptRef } }));
}

/** How an approval is recorded: a person's verdict (counts for trust), or the tier's timer (does not). */
export type Approval =
  | { kind: "verdict"; notes: string | null; attempt: number | null }
  | { kind: "auto"; attempt: number; tier: Tier; spotCheck: boolean };

/**
 * Merge, then record the merge and the approval in one append, then remove the worktree and branch. A conflict
 * is recorded (once per attempt for the timer) and refuses, leaving the task in review.
 */
export async function approve(ctx: AppContext, state: TaskState, project: ProjectRef, actor: string, approval: Approval): Promise<{ state: TaskState }> {
  const id = state.id;
  crashPoint("approve:start");
  const merge = await ctx.workspace.mergeBranch(project, id);
  if (!merge.merged) {
    await runTaskCommand(ctx, id, metaOf(ctx, actor), () => ({
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
  crashPoint("approve:merged");
  const recorded = await recordApproval(ctx, id, { branch: taskBranch(id), into: project.mainBranch, commit: merge.commit }, actor, approval);
  crashPoint("approve:recorded");
  return finishRemoval(ctx, recorded.state, project, actor);
}

/** The merge and the approval in one transaction: the store never says "merged" without "approved", nor the reverse. */
async function recordApproval(
  ctx: AppContext,
  id: number,
  merge: { branch: string; into: string; commit: string },
  actor: string,
  approval: Approval,
): Promise<{ state: TaskState; events: StoredEvent[] }> {
  const meta = metaOf(ctx, actor);
  return ctx.store.transaction(async (tx) => {
    const { state, version } = await loadTaskIn(tx, id);
    const merged = decideTask({ type: "RecordMerge", data: merge }, state, meta);
    let after = state;
    for (const e of merged) after = evolveTask(after, { ...e, at: meta.at } as Parameters<typeof evolveTask>[1]);
    const command: TaskCommand =
      approval.kind === "verdict"
        ? { type: "RecordVerdict", data: { verdict: "approved", notes: approval.notes?.trim() || null, attempt: approval.attempt } }
        : { type: "AutoApprove", data: { attempt: approval.attempt, tier: approval.tier, spotCheck: approval.spotCheck } };
    const emitted = [...merged, ...decideTask(command, after, meta)];
    const appends = [append(taskStream(id), version, emitted)];
    // Trust is made of human verdicts only (DESIGN §5): the timer's approval is no evidence.
    if (approval.kind === "verdict") {
      appends.push(await trustAppendIn(tx, ctx, state.agent, state.type, (standing) => ({ type: "ObserveTrust", standing }), ["approved"]));
    }
    const { events } = await ctx.store.appendIn(tx, appends, meta);
    let next = state;
    for (const event of events) if (event.stream === taskStream(id)) next = evolveTask(next, toEnvelope(event));
    return { state: next, events };
  });
}

/** An approval or a discard whose verdict is recorded but whose worktree was not removed yet (a crash, most likely). */
function unfinished(state: TaskState, verdict: Verdict): boolean {
  if (state.worktreeRemoved) return false;
  return (verdict === "approved" && state.status === "approved" && state.merge !== null) || (verdict === "discarded" && state.status === "discarded");
}

async function finishRemoval(ctx: AppContext, state: TaskState, project: ProjectRef, actor: string): Promise<{ state: TaskState }> {
  const id = state.id;
  const approved = state.status === "approved";
  // A discard cut short after its verdict may not have kept the commits yet: keeping again keeps the same.
  const keptRef = approved ? null : (await ctx.workspace.keepTask(project, id)).keptRef;
  await ctx.workspace.removeTask(project, id, approved ? "drop-kept-ref" : "keep-ref");
  crashPoint(approved ? "approve:removed" : "discard:removed");
  return runTaskCommand(ctx, id, metaOf(ctx, actor), () => ({ type: "RecordWorktreeRemoved", data: { path: ctx.workspace.worktreePath(id), keptRef } }));
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
