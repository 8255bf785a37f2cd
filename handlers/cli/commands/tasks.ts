import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { AppContext } from "../../../src/app/context.ts";
import { cancelTask, editTask, loadTask, queueTask, recordResult, retryTask } from "../../../src/app/tasks.ts";
import { listTasks, showTask } from "../../../src/app/views.ts";
import { ISOLATIONS, TIERS, taskStream, type RunStopped, type TaskEdit, type Verdict } from "../../../src/domain/task/task.ts";
import { ValidationError } from "../../../src/shared/errors.ts";
import { exactArguments, idArgument, oneOf, parseId, parseIdList, parseInteger, str, title, valueOptions } from "../args.ts";
import { ACTOR, idCommand, storeCommand } from "../command.ts";
import { renderNewId, renderTask, renderTaskList } from "../render.ts";

// A task's life by hand (DESIGN §3, §9): queue, look, change, cancel, record a result, decide a review.

export const taskAdd = storeCommand({
  positional: true,
  usage:
    'cos task add "<title>" --type T --agent A [--project P] [--goal ID] [--initiative ID] [--after ID,ID] [--area AREA] [--isolation worktree|direct] [--tier auto|quick|gate] [--priority N] [--description TEXT] [--skill NAME,NAME]',
  options: valueOptions("skill", "type", "agent", "project", "goal", "initiative", "after", "area", "isolation", "tier", "priority", "description"),
  run: async (ctx, { values, positionals }) => {
    const type = str(values, "type");
    const agent = str(values, "agent");
    if (!type) throw new ValidationError("a task needs --type (code, research, content, or a configured type)");
    if (!agent) throw new ValidationError("a task needs --agent (one of the agents in cos.config.json)");
    const goal = str(values, "goal");
    const initiative = str(values, "initiative");
    const after = str(values, "after");
    const isolation = str(values, "isolation");
    const tier = str(values, "tier");
    const priority = str(values, "priority");
    const id = await queueTask(
      ctx,
      {
        title: oneLineTitle(title(positionals, "task")),
        description: str(values, "description") ?? "",
        type,
        agent,
        project: str(values, "project") ?? null,
        goalId: goal === undefined ? null : parseId(goal, "goal"),
        initiativeId: initiative === undefined ? null : parseId(initiative, "initiative"),
        blockedBy: after === undefined ? [] : parseIdList(after),
        area: str(values, "area") ?? null,
        isolation: isolation === undefined ? null : oneOf(isolation, ISOLATIONS, "--isolation"),
        tier: tier === undefined ? null : oneOf(tier, TIERS, "--tier"),
        priority: priority === undefined ? 0 : parseInteger(priority, "--priority"),
        skills: (str(values, "skill") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
      },
      ACTOR,
    );
    return { id };
  },
  text: renderNewId,
});

/** A title is one line (the domain refuses any control character); the rest of a pasted text goes in --description. */
function oneLineTitle(text: string): string {
  if (/[\r\n]/.test(text.trim())) {
    throw new ValidationError('a task\'s title is one line: put the first line in the title and the rest in --description "…"');
  }
  return text;
}

export const taskList = storeCommand({
  usage: "cos task list [--status S]   (S: open, all, or a status such as queued; a comma list works)",
  options: { status: { type: "string" } },
  run: (ctx, { values }) => listTasks(ctx, str(values, "status") ?? "all"),
  text: renderTaskList,
});

export const taskShow = idCommand("cos task show ID", { run: showTask, text: renderTask });

/** How long `cos task cancel` waits for the runner to confirm that a running agent is gone. */
const STOP_WAIT_MS = 15_000;

export const taskCancel = storeCommand({
  positional: true,
  usage: "cos task cancel ID [--reason TEXT]   (a running task's agent is stopped and its worktree freed)",
  options: { reason: { type: "string" } },
  run: async (ctx, { values, positionals }) => {
    const id = idArgument(positionals, "cos task cancel ID");
    const { state: before } = await loadTask(ctx, id);
    const { state } = await cancelTask(ctx, id, str(values, "reason") ?? null, ACTOR);
    if (before.status !== "running") return { id, status: state.status, run: null };
    const stopped = await waitForStop(ctx, id, before.attempt, STOP_WAIT_MS);
    return { id, status: state.status, run: { attempt: before.attempt, runner: before.runner, stopped: stopped !== null, worktree: stopped?.worktree ?? null } };
  },
  text: (v) => {
    if (!v.run) return `#${v.id} cancelled`;
    if (!v.run.stopped) {
      return `#${v.id} cancelled; its agent on ${v.run.runner ?? "its runner"} has not confirmed it stopped yet (a runner checks every second; one that is down took its agents with it)`;
    }
    const worktree = v.run.worktree ? (v.run.worktree.removed ? `, and its worktree ${v.run.worktree.path} removed (its branch stays)` : `; its worktree ${v.run.worktree.path} is kept`) : "";
    return `#${v.id} cancelled; its agent on ${v.run.runner ?? "its runner"} was stopped${worktree}`;
  },
});

/** Waits until the runner has confirmed the attempt stopped (TaskRunStopped), up to `timeoutMs`; null when it has not. */
async function waitForStop(ctx: AppContext, id: number, attempt: number, timeoutMs: number): Promise<RunStopped | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await ctx.store.readStream(taskStream(id));
    const stopped = events.find((e) => e.type === "TaskRunStopped" && (e.data as RunStopped).attempt === attempt);
    if (stopped) return stopped.data as RunStopped;
    if (Date.now() > deadline) return null;
    await new Promise((done) => setTimeout(done, 200));
  }
}

export const taskRetry = storeCommand({
  positional: true,
  usage: "cos task retry ID   (queue a failed or cancelled task again, for its next attempt)",
  options: {},
  run: async (ctx, { positionals }) => {
    const id = idArgument(positionals, "cos task retry ID");
    const { state } = await retryTask(ctx, id, ACTOR);
    return { id, status: state.status, attempt: state.attempt };
  },
  text: (v) => `#${v.id} queued again for attempt ${v.attempt}`,
});

export const taskEdit = storeCommand({
  positional: true,
  usage: "cos task edit ID [--after ID,ID] [--priority N] [--area AREA] [--agent A] [--tier auto|quick|gate|none]",
  options: valueOptions("after", "priority", "area", "agent", "tier"),
  run: async (ctx, { values, positionals }) => {
    const id = idArgument(positionals, "cos task edit ID [...]");
    const changes: TaskEdit = {};
    const after = str(values, "after");
    if (after !== undefined) changes.blockedBy = after.trim() === "" || after === "none" ? [] : parseIdList(after);
    const priority = str(values, "priority");
    if (priority !== undefined) changes.priority = parseInteger(priority, "--priority");
    const area = str(values, "area");
    if (area !== undefined) changes.area = area === "" || area === "none" ? null : area;
    const agent = str(values, "agent");
    if (agent !== undefined) changes.agent = agent;
    const tier = str(values, "tier");
    if (tier !== undefined) changes.tier = tier === "none" ? null : oneOf(tier, TIERS, "--tier");
    if (Object.keys(changes).length === 0) {
      throw new ValidationError("nothing to change: give --after, --priority, --area, --agent or --tier");
    }
    const { state, events } = await editTask(ctx, id, changes, ACTOR);
    return { id, changed: events.length > 0, blockedBy: state.blockedBy, priority: state.priority, area: state.area, agent: state.agent, tierPin: state.tierPin };
  },
  text: (v) => (v.changed ? `#${v.id} updated` : `#${v.id} unchanged`),
});

export const taskResult = storeCommand({
  positional: true,
  usage: "cos result ID [--file F] [--exit-code N]   (the result is read from stdin without --file)",
  options: { file: { type: "string" }, "exit-code": { type: "string" } },
  run: async (ctx, { values, positionals }, io) => {
    const id = idArgument(positionals, "cos result ID [--file F] [--exit-code N]");
    const exitCodeText = str(values, "exit-code");
    const exitCode = exitCodeText === undefined ? 0 : parseInteger(exitCodeText, "--exit-code");
    const file = str(values, "file");
    let markdown: string | null;
    if (file !== undefined) {
      try {
        markdown = readFileSync(resolve(io.cwd, file), "utf8");
      } catch (error) {
        throw new ValidationError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    } else {
      markdown = await io.readStdin();
      if (markdown === null) throw new ValidationError("give the result with --file F or pipe it on stdin");
    }
    const { state } = await recordResult(ctx, id, { markdown, exitCode }, ACTOR);
    return { id, status: state.status, attempt: state.attempt };
  },
  text: (v) => `#${v.id} ${v.status === "review" ? "is in review" : `is ${v.status} (attempt ${v.attempt})`}`,
});

/** The verdicts as a person types them. */
const VERDICT_WORDS: Record<string, Verdict> = { approve: "approved", "send-back": "sent_back", discard: "discarded" };

const VERDICT_USAGE = "cos verdict ID approve|send-back|discard [--note TEXT]";

export const taskVerdict = storeCommand({
  positional: true,
  usage: VERDICT_USAGE,
  options: { note: { type: "string" } },
  run: async (ctx, { values, positionals }) => {
    const [idText, word] = exactArguments(positionals, 2, VERDICT_USAGE);
    const id = parseId(idText);
    const verdict = VERDICT_WORDS[word!];
    if (!verdict) throw new ValidationError(`the verdict must be approve, send-back or discard, got "${word}"`);
    const { decideReview } = await import("../../../src/app/review.ts");
    const { state } = await decideReview(ctx, id, verdict, str(values, "note") ?? null, ACTOR);
    return { id, verdict, status: state.status, attempt: state.attempt };
  },
  text: (v) => `#${v.id} ${v.status}${v.status === "queued" ? ` again for attempt ${v.attempt}` : ""}`,
});
