import { buildDigest, digestHeading, digestSince } from "../app/digest.ts";
import type { AppContext } from "../app/context.ts";
import { decideAttempt, openForVerdict } from "../app/review.ts";
import { changeMode, loadSettings, pauseResolver, resumeResolver } from "../app/settings.ts";
import { statusBlock, statusView } from "../app/status.ts";
import { cancelTask, editTask, loadTask, noteActivity, queueTask, retryTask } from "../app/tasks.ts";
import { clearPin, pinTier, trustTable } from "../app/trust.ts";
import { checkRateText } from "../app/check-rate.ts";
import { listTasks, showTask } from "../app/views.ts";
import { knownTypes } from "../config/config.ts";
import { blockersEndedBadly } from "../domain/task/dependencies.ts";
import type { TaskState, Verdict } from "../domain/task/task.ts";
import { trustNumbersText } from "../domain/trust/trust.ts";
import { toCosError } from "../shared/errors.ts";
import { errorText, hintsFor, type Hints } from "../shared/hints.ts";
import { explain } from "../plan/explain.ts";
import { queuedAfterEndedWarning } from "../plan/hold-words.ts";
import { reviewQueueLink } from "../pages/links.ts";
import { reviewQueueButton } from "./card-text.ts";
import { namedCardOf } from "./cards.ts";
import { COMMAND_HELP, parseChatCommand, type ChatCommand } from "./grammar.ts";
import { taskLines } from "./task-lines.ts";
import type { ChatActor, ChatInput, ChatReply, ReviewCard, TextBlock } from "./types.ts";
import { digestView, taskDiff } from "./views.ts";
import { PLATFORMS } from "../config/platforms.ts";

const text = (title: string | null, lines: string[]): ChatReply => ({ kind: "text", block: { title, lines } });

/**
 * Every chat platform's entry point. The adapter has already checked the allowlist; everything
 * here goes through the same command layer as the CLI, and errors come back as replies a person
 * can act on. Commands a reply points to are written as the person's platform types them.
 */
export async function handleChat(ctx: AppContext, who: ChatActor, input: ChatInput): Promise<ChatReply> {
  const hints = hintsFor(who.platform);
  try {
    switch (input.kind) {
      case "message": {
        const parsed = parseChatCommand(input.text, PLATFORMS[who.platform].commandPrefix);
        if (parsed.ok) return await runCommand(ctx, who, parsed.command, hints);
        if ("notCommand" in parsed) return help(ctx, hints, `I take commands, not conversation: ${parsed.error}.`);
        return text("Not understood", [parsed.error]);
      }
      case "tap":
        return await tap(ctx, who, input.taskId, input.attempt, input.action);
      case "notes":
        return await decide(ctx, who, input.taskId, input.attempt, "sent_back", input.text);
      case "comment":
        return await comment(ctx, who, input.taskId, input.text, hints);
      default: {
        const never: never = input;
        return never;
      }
    }
  } catch (error) {
    return text("Refused", [errorText(toCosError(error), hints)]);
  }
}

async function tap(ctx: AppContext, who: ChatActor, taskId: number, attempt: number, action: "approve" | "send_back" | "discard"): Promise<ChatReply> {
  const { state } = await loadTask(ctx, taskId);
  const stale = await alreadyDecided(ctx, state, attempt);
  if (stale) return stale;
  if (action === "send_back") {
    return { kind: "ask_notes", taskId, attempt, title: state.title };
  }
  return decide(ctx, who, taskId, attempt, action === "approve" ? "approved" : "discarded", null);
}

/** Records a verdict from a card; a stale or repeated decision answers "already decided" and records nothing. */
async function decide(ctx: AppContext, who: ChatActor, taskId: number, attempt: number, verdict: Verdict, notes: string | null): Promise<ChatReply> {
  const decided = await decideAttempt(ctx, taskId, attempt, verdict, notes, who.actor);
  if (!decided.decided) return (await alreadyDecided(ctx, decided.state, attempt))!;
  const words = verdict === "approved" ? "Approved" : verdict === "discarded" ? "Discarded" : "Sent back";
  return { kind: "tap_answer", toast: `${words} #${taskId}`, card: await namedCardOf(ctx, decided.state) };
}

/**
 * The answer to a tap or notes on a card that is no longer live (the task left review, or is on
 * another attempt): "already decided", with the card as it stands; null while the card is live.
 */
async function alreadyDecided(ctx: AppContext, state: TaskState, attempt: number): Promise<ChatReply | null> {
  if (openForVerdict(state, attempt)) return null;
  const card = await namedCardOf(ctx, state);
  return { kind: "tap_answer", toast: "already decided", card: card && card.attempt === attempt ? card : null };
}

/** A reply to a card that is not an answer to the notes question: an activity note, never a verdict. */
async function comment(ctx: AppContext, who: ChatActor, taskId: number, words: string, hints: Hints): Promise<ChatReply> {
  await noteActivity(ctx, taskId, `comment by ${who.actor}: ${words}`, who.actor);
  return text(null, [
    `Noted on #${taskId} as a comment: it decides nothing.`,
    `To send it back with notes: the Send back button, or ${hints.sendBack(taskId)}.`,
  ]);
}

function help(ctx: AppContext, hints: Hints, intro: string | null = null): ChatReply {
  const agents = Object.keys(ctx.config.agents);
  return text("Commands", [
    ...(intro ? [intro] : []),
    ...COMMAND_HELP.map(([name, args, what]) => `${hints.verb(name, args)}: ${what}`),
    agents.length ? `Agents: ${agents.map((a) => `@${a}`).join(", ")}` : "Agents: none configured yet (cos.config.json, \"agents\")",
    `Types: ${knownTypes(ctx.config).map((t) => `#${t}`).join(", ")}`,
  ]);
}

async function runCommand(ctx: AppContext, who: ChatActor, command: ChatCommand, hints: Hints): Promise<ChatReply> {
  switch (command.name) {
    case "help":
      return help(ctx, hints);
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
      const view = await showTask(ctx, id, hints);
      const understood = [
        `type ${view.type}`,
        `agent ${view.agent}`,
        view.project ? `project ${view.project}` : null,
        view.blockedBy.length ? `after ${view.blockedBy.map((b) => `#${b}`).join(", ")}` : null,
        view.area ? `area ${view.area}` : null,
        view.goal ? `goal ${view.goal.id}` : null,
        view.initiative ? `initiative ${view.initiative.id}` : null,
        view.tierPin ? `tier ${view.tierPin}` : null,
        view.priority ? `priority ${view.priority}` : null,
        view.description ? `description: ${view.description.split("\n").length} line(s)` : null,
      ].filter((x): x is string => x !== null);
      const ended = blockersEndedBadly(view.blockers);
      if (ended.length) understood.push(queuedAfterEndedWarning(id, ended, hints));
      return text(`Queued #${id}: ${view.title}`, understood);
    }
    case "review": {
      const ids = (await listTasks(ctx, "review")).map((t) => t.id);
      const cards = (await Promise.all(ids.map(async (id) => namedCardOf(ctx, (await loadTask(ctx, id)).state)))).filter(
        (c): c is ReviewCard => c !== null,
      );
      return {
        kind: "cards",
        intro: { title: cards.length ? `${cards.length} waiting for review` : "Nothing waits for review", lines: [] },
        cards,
        page: reviewQueueButton(reviewQueueLink(ctx)),
      };
    }
    case "status":
      return { kind: "text", block: statusBlock(await statusView(ctx, hints), hints, ctx.config.digest.timezone) };
    case "queue": {
      const queued = (await listTasks(ctx, "queued", hints)).sort((a, b) => b.priority - a.priority || a.id - b.id);
      const lines = await Promise.all(
        queued.slice(0, 50).map(async (t) => `#${t.id} ${t.title} [${t.agent}]: ${(await explain(ctx, t.id, hints)).text.replace(/^#\d+: /, "")}`),
      );
      if (queued.length > 50) lines.push(`… and ${queued.length - 50} more`);
      return text(queued.length ? `Queue (${queued.length})` : "The queue is empty", lines);
    }
    case "why":
      return text(null, [(await explain(ctx, command.id, hints)).text]);
    case "show":
      return { kind: "text", block: await taskLines(ctx, command.id, hints) };
    case "trust": {
      const rows = await trustTable(ctx);
      return text(
        "Trust",
        rows.length
          ? rows.map(
              (r) =>
                `${r.agent} ${r.type}: ${r.tierUsed}${r.pin ? " (pinned)" : ""}; default ${r.defaultTier}; ${trustNumbersText(r)}; next: ${r.next}` +
                (r.checks.n ? `; checks passed: ${checkRateText(r.checks)}` : ""),
            )
          : ["no agents have tasks yet"],
      );
    }
    case "mode": {
      if (command.mode === null) {
        const { state } = await loadSettings(ctx);
        const other = state.mode === "sprint" ? "idle" : "sprint";
        return text(null, [
          `mode: ${state.mode} (an agent waits ${ctx.config.resolver.cooldownMinutes[state.mode]} min after finishing a task before the next of the same goal)`,
          `${hints.verb("mode", other)} switches to ${other} (${ctx.config.resolver.cooldownMinutes[other]} min)`,
        ]);
      }
      const { state, changed } = await changeMode(ctx, command.mode, who.actor);
      return text(null, [`mode: ${state.mode}${changed ? "" : " (already)"}`]);
    }
    case "pause":
      await pauseResolver(ctx, null, who.actor);
      return text(null, [`paused: nothing new is dispatched until ${hints.resume()}`]);
    case "resume":
      await resumeResolver(ctx, who.actor);
      return text(null, ["resumed: ready tasks are dispatched again"]);
    case "digest": {
      const digest = await buildDigest(ctx, digestSince(ctx.clock()), hints);
      const view = await digestView(ctx, digest);
      return {
        kind: "cards",
        intro: { title: digestHeading(digest), lines: view.blocks.flatMap((b) => [`${b.title}`, ...b.lines.map((l) => `  ${l}`)]) },
        cards: view.cards,
        page: view.page,
      };
    }
    case "tier": {
      if (command.tier === null) {
        const { changed } = await clearPin(ctx, command.agent, command.type, who.actor);
        return text(null, [`${command.agent} ${command.type}: ${changed ? "pin cleared; trust decides again" : "had no pin"}`]);
      }
      await pinTier(ctx, command.agent, command.type, command.tier, who.actor);
      return text(null, [`${command.agent} ${command.type}: pinned at ${command.tier}`]);
    }
    case "cancel": {
      const { state: before } = await loadTask(ctx, command.id);
      await cancelTask(ctx, command.id, `cancelled from ${who.platform}`, who.actor);
      const lines = [`#${command.id} cancelled.`];
      if (before.status === "running") {
        lines.push(`Its agent on ${before.runner ?? "its runner"} is being stopped and its worktree freed; you will hear when it has.`);
      } else if (before.status === "dispatched") {
        lines.push("No runner had started it yet, so nothing was running.");
      }
      return text(null, lines);
    }
    case "retry": {
      const { state } = await retryTask(ctx, command.id, who.actor);
      return text(null, [`#${command.id} queued again for attempt ${state.attempt}`]);
    }
    case "sendback": {
      const { state } = await loadTask(ctx, command.id);
      if (command.notes === null) {
        const stale = await alreadyDecided(ctx, state, state.attempt);
        if (stale) return stale.kind === "tap_answer" ? text(null, [`#${command.id} is ${state.status}, not in review: already decided`]) : stale;
        return { kind: "ask_notes", taskId: command.id, attempt: state.attempt, title: state.title };
      }
      return decide(ctx, who, command.id, state.attempt, "sent_back", command.notes);
    }
    case "after":
    case "edit": {
      const changes = command.name === "after" ? { blockedBy: command.blockedBy } : command.changes;
      const { events } = await editTask(ctx, command.id, changes, who.actor);
      const view = await showTask(ctx, command.id, hints);
      return text(null, [
        `#${command.id} ${events.length ? "changed" : "unchanged"}: after ${view.blockedBy.length ? view.blockedBy.map((b) => `#${b}`).join(", ") : "nothing"}, ` +
          `priority ${view.priority}, area ${view.area ?? "none"}, agent ${view.agent}, tier ${view.tierPin ?? "as trust decides"}`,
        (await explain(ctx, command.id, hints)).text,
      ]);
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
