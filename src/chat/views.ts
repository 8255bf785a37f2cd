import type { AppContext } from "../app/context.ts";
import { digestBlocks, type Digest } from "../app/digest.ts";
import { worktreeProject } from "../app/review.ts";
import { loadTask } from "../app/tasks.ts";
import { reviewQueueLink } from "../pages/links.ts";
import { IllegalStateError } from "../shared/errors.ts";
import { reviewQueueButton } from "./card-text.ts";
import { namedCardOf } from "./cards.ts";
import type { PageButton, ReviewCard, TextBlock } from "./types.ts";

/**
 * The digest as text blocks (one per section, the same on every surface), the review queue as cards, and
 * the review queue page's button.
 */
export async function digestView(ctx: AppContext, digest: Digest): Promise<{ blocks: TextBlock[]; cards: ReviewCard[]; page: PageButton | null }> {
  const cards: ReviewCard[] = [];
  for (const item of digest.review) {
    const card = await namedCardOf(ctx, (await loadTask(ctx, item.id)).state);
    if (card) cards.push(card);
  }
  return { blocks: digestBlocks(digest), cards, page: reviewQueueButton(reviewQueueLink(ctx)) };
}

/** The task's patch against its project's main branch (`/diff 42`). */
export async function taskDiff(ctx: AppContext, id: number): Promise<string> {
  const { state } = await loadTask(ctx, id);
  const project = worktreeProject(ctx, state);
  if (!project) {
    throw new IllegalStateError(`task #${id} has no branch of its own (it did not run in a worktree), so there is no patch`);
  }
  try {
    const patch = await ctx.workspace.taskPatch(project, id, state.merge?.commit ?? null);
    return patch || "(no changes)\n";
  } catch (error) {
    throw new IllegalStateError(`no patch for task #${id}: ${(error as Error).message.split("\n")[0]}`);
  }
}
