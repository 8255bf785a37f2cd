import type { AppContext } from "../app/context.ts";
import { reviewFacts, type Digest, type DigestItem } from "../app/digest.ts";
import { worktreeProject } from "../app/review.ts";
import { loadTask } from "../app/tasks.ts";
import { IllegalStateError } from "../shared/errors.ts";
import { cardOf } from "./cards.ts";
import type { ReviewCard, TextBlock } from "./types.ts";

/** The digest as text blocks (one per section) and the review queue as cards. */
export async function digestView(ctx: AppContext, digest: Digest): Promise<{ blocks: TextBlock[]; cards: ReviewCard[] }> {
  const cards: ReviewCard[] = [];
  for (const item of digest.review) {
    const card = cardOf(ctx, (await loadTask(ctx, item.id)).state);
    if (card) cards.push(card);
  }
  return { blocks: digestBlocks(digest), cards };
}

export function digestBlocks(d: Digest): TextBlock[] {
  const head = (i: DigestItem) => `#${i.id} ${i.title} [${i.agent}]`;
  const section = (title: string, items: string[]): TextBlock => ({ title: `${title} (${items.length})`, lines: items.length ? items : ["—"] });
  return [
    section("Done overnight", d.done.map((i) => `${head(i)}${i.note ? ` (${i.note})` : ""}`)),
    section("Waiting for review", d.review.map((i) => [`${head(i)}: ${(i.summary ?? "").split("\n")[0]}`, ...reviewFacts(i)].join("\n   "))),
    section("Failed or held", [...d.failed, ...d.held].map((i) => `${head(i)}: ${i.note ?? i.status}`)),
    section("Trust changes", d.trustChanges.map((t) => `${t.agent} ${t.type}: ${t.from} → ${t.to} (${t.numbers})`)),
    section("Auto-approved, worth a spot-check", d.spotCheck.map(head)),
    section("Tonight's queue", d.queue.map((i) => `${head(i)}: ${i.note}`)),
  ];
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
