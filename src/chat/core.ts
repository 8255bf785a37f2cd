import { buildDigest, digestSince } from "../app/digest.ts";
import type { AppContext } from "../app/context.ts";
import { decideReview } from "../app/review.ts";
import { changeMode, pauseResolver, resumeResolver } from "../app/settings.ts";
import { cancelTask, loadTask, queueTask, retryTask } from "../app/tasks.ts";
import { clearPin, pinTier, trustTable } from "../app/trust.ts";
import { checkRateText } from "../app/check-rate.ts";
import { listTasks } from "../app/views.ts";
import type { TaskState, Verdict } from "../domain/task/task.ts";
import { trustNumbersText } from "../domain/trust/trust.ts";
import { toCosError } from "../shared/errors.ts";
import { explain } from "../plan/explain.ts";
import { cardOf } from "./cards.ts";
import { COMMAND_HELP, parseChatCommand, type ChatCommand } from "./grammar.ts";
import type { ChatActor, ChatInput, ChatReply, ReviewCard, TextBlock } from "./types.ts";
import { digestView, taskDiff } from "./views.ts";

const text = (title: string | null, lines: string[]): ChatReply => ({ kind: "text", block: { title, lines } });

/**
 * Every chat platform's entry point. The adapter has already checked the allowlist; everything
 * here goes through the same command layer as the CLI, and errors come back as replies a person
 * can act on.
 */
export async function handleChat(ctx: AppContext, who: ChatActor, input: ChatInput): Promise<ChatReply> {
  try {
    switch (input.kind) {
      case "message": {
        const parsed = parseChatCommand(input.text);
        if (!parsed.ok) return text("Not understood", [parsed.error]);
        return await runCommand(ctx, who, parsed.command);
      }
      case "tap":
        return await tap(ctx, who, input.taskId, input.attempt, input.action);
      case "notes":
        return await decide(ctx, who, input.taskId, input.attempt, "sent_back", input.text);
      default: {
        const never: never = input;
        return never;
      }
    }
  } catch (error) {
    return text("Refused", [toCosError(error).message]);
  }
}

async function tap(ctx: AppContext, who: ChatActor, taskId: number, attempt: number, action: "approve" | "send_back" | "discard"): Promise<ChatReply> {
  const { state } = await loadTask(ctx, taskId);
  const stale = alreadyDecided(ctx, state, attempt);
  if (stale) return stale;
  if (action === "send_back") {
    return { kind: "ask_notes", taskId, attempt, title: state.title };
  }
  return decide(ctx, who, taskId, attempt, action === "approve" ? "approved" : "discarded", null);
}

/** Records a verdict from a card; a stale or repeated decision answers "already decided" and records nothing. */
async function decide(ctx: AppContext, who: ChatActor, taskId: number, attempt: number, verdict: Verdict, notes: string | null): Promise<ChatReply> {
  const { state } = await loadTask(ctx, taskId);
  const stale = alreadyDecided(ctx, state, attempt);
  if (stale) return stale;
  const decided = await decideReview(ctx, taskId, verdict, notes, who.actor, attempt);
  const words = verdict === "approved" ? "Approved" : verdict === "discarded" ? "Discarded" : "Sent back";
  return { kind: "tap_answer", toast: `${words} #${taskId}`, card: cardOf(ctx, decided.state) };
}

/**
 * The answer to a tap or notes on a card that is no longer live (the task left review, or is on
 * another attempt): "already decided", with the card as it stands; null while the card is live.
 */
function alreadyDecided(ctx: AppContext, state: TaskState, attempt: number): ChatReply | null {
  if (state.status === "review" && state.attempt === attempt) return null;
  const card = cardOf(ctx, state);
  return { kind: "tap_answer", toast: "already decided", card: card && card.attempt === attempt ? card : null };
}

async function runCommand(ctx: AppContext, who: ChatActor, command: ChatCommand): Promise<ChatReply> {
  switch (command.name) {
    case "help":
      return text("Commands", COMMAND_HELP.map(([name, what]) => `/${name}: ${what}`));
    case "task": {
      const t = command.task;
      const id = await queueTask(
        ctx,
        {
          title: t.title,
          description: t.description,
          type: t.type!,
          agent: t.agent!,
          project: t.project,
          goalId: t.goalId,
          initiativeId: t.initiativeId,
          blockedBy: t.blockedBy,
          area: t.area,
          tier: t.tier,
          priority: t.priority ?? 0,
        },
        who.actor,
      );
      const { state } = await loadTask(ctx, id);
      const understood = [
        `type ${state.type}`,
        `agent ${state.agent}`,
        state.project ? `project ${state.project}` : null,
        state.blockedBy.length ? `after ${state.blockedBy.map((b) => `#${b}`).join(", ")}` : null,
        state.area ? `area ${state.area}` : null,
        state.goalId ? `goal ${state.goalId}` : null,
        state.initiativeId ? `initiative ${state.initiativeId}` : null,
        state.tierPin ? `tier ${state.tierPin}` : null,
        state.priority ? `priority ${state.priority}` : null,
        state.description ? `description: ${state.description.split("\n").length} line(s)` : null,
      ].filter((x): x is string => x !== null);
      return text(`Queued #${id}: ${state.title}`, understood);
    }
    case "review": {
      const ids = (await listTasks(ctx, "review")).map((t) => t.id);
      const cards = (await Promise.all(ids.map(async (id) => cardOf(ctx, (await loadTask(ctx, id)).state)))).filter(
        (c): c is ReviewCard => c !== null,
      );
      return { kind: "cards", intro: { title: cards.length ? `${cards.length} waiting for review` : "Nothing waits for review", lines: [] }, cards };
    }
    case "status": {
      const open = await listTasks(ctx, "open");
      const count = (s: string) => open.filter((t) => t.status === s).length;
      const lines = [
        `running: ${count("running")}, dispatched: ${count("dispatched")}, in review: ${count("review")}, queued: ${count("queued")}`,
        ...open.filter((t) => t.status === "running" || t.status === "dispatched").map((t) => `#${t.id} ${t.title} [${t.agent}] ${t.status}`),
        ...open.filter((t) => t.held).map((t) => `#${t.id} ${t.title}: held (${t.held})`),
      ];
      return text("Status", lines);
    }
    case "queue": {
      const queued = (await listTasks(ctx, "queued")).sort((a, b) => b.priority - a.priority || a.id - b.id);
      const lines = await Promise.all(queued.slice(0, 50).map(async (t) => `#${t.id} ${t.title} [${t.agent}]: ${(await explain(ctx, t.id)).text.replace(/^#\d+: /, "")}`));
      if (queued.length > 50) lines.push(`… and ${queued.length - 50} more`);
      return text(queued.length ? `Queue (${queued.length})` : "The queue is empty", lines);
    }
    case "why":
      return text(null, [(await explain(ctx, command.id)).text]);
    case "trust": {
      const rows = await trustTable(ctx);
      return text(
        "Trust",
        rows.length
          ? rows.map(
              (r) =>
                `${r.agent} ${r.type}: ${r.tierUsed}${r.pin ? " (pinned)" : ""}; default ${r.defaultTier}; ${trustNumbersText(r)}; ${r.next}` +
                (r.checks.n ? `; checks passed ${checkRateText(r.checks)}` : ""),
            )
          : ["no agents have tasks yet"],
      );
    }
    case "mode": {
      const { state } = await changeMode(ctx, command.mode, who.actor);
      return text(null, [`mode: ${state.mode}`]);
    }
    case "pause":
      await pauseResolver(ctx, null, who.actor);
      return text(null, ["paused: nothing new is dispatched until /resume"]);
    case "resume":
      await resumeResolver(ctx, who.actor);
      return text(null, ["resumed"]);
    case "digest": {
      const digest = await buildDigest(ctx, digestSince(ctx.clock()));
      const view = await digestView(ctx, digest);
      return { kind: "cards", intro: { title: "Digest", lines: view.blocks.flatMap((b) => [`${b.title}`, ...b.lines.map((l) => `  ${l}`)]) }, cards: view.cards };
    }
    case "tier": {
      if (command.tier === null) {
        const { changed } = await clearPin(ctx, command.agent, command.type, who.actor);
        return text(null, [`${command.agent} ${command.type}: ${changed ? "pin cleared; trust decides again" : "had no pin"}`]);
      }
      await pinTier(ctx, command.agent, command.type, command.tier, who.actor);
      return text(null, [`${command.agent} ${command.type}: pinned at ${command.tier}`]);
    }
    case "cancel":
      await cancelTask(ctx, command.id, `cancelled from ${who.platform}`, who.actor);
      return text(null, [`#${command.id} cancelled`]);
    case "retry": {
      const { state } = await retryTask(ctx, command.id, who.actor);
      return text(null, [`#${command.id} queued again for attempt ${state.attempt}`]);
    }
    case "sendback": {
      const { state } = await loadTask(ctx, command.id);
      return decide(ctx, who, command.id, state.attempt, "sent_back", command.notes);
    }
    case "diff": {
      const diff = await taskDiff(ctx, command.id);
      return { kind: "file", name: `task-${command.id}.patch`, content: diff, caption: `#${command.id}: the patch against main` };
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}

export type { TextBlock };
