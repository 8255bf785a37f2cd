import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AppContext } from "../app/context.ts";
import { openForVerdict, worktreeProject } from "../app/review.ts";
import { toEnvelope } from "../app/tasks.ts";
import { markActors, peopleOf, plainName, plainPeople } from "../app/people.ts";
import type { CardText } from "../chat/card-text.ts";
import { namedCardOf } from "../chat/cards.ts";
import { formatTime } from "../chat/format.ts";
import { taskDiff } from "../chat/views.ts";
import { CHECK_NAME, checkEnding, checkWord } from "../domain/task/checks.ts";
import { evolveTask, taskStream, type TaskState } from "../domain/task/task.ts";
import { buildDispatchPrompt, promptHash } from "../prompt/build.ts";
import { loadPromptInput } from "../prompt/load.ts";
import { NotFoundError, toCosError } from "../shared/errors.ts";
import { readLogTail } from "../shared/log-tail.ts";
import { dataDirOf, runDirOf, runFiles } from "../shared/run-folder.ts";
import type { StoredEvent } from "../store/event-store.ts";
import { diffView, type DiffView } from "./diff-view.ts";
import { cardWords } from "./words.ts";

// A task's review page (DESIGN §13) as a view model: what a person needs to judge the result on a phone,
// in the words the chat uses for the same facts (the card's text model): the result's sections, the diff,
// the prompt the agent was given, the end of its log, and the task's events with who did what, when.

/** How much of a run's log the page shows: its end, which is where a run says how it went. */
export const LOG_TAIL_LINES = 200;
const LOG_TAIL_BYTES = 48 * 1024;
const PROMPT_MAX_BYTES = 256 * 1024;

export interface TimelineEntry {
  at: string;
  /** When, in the digest's time zone. */
  when: string;
  /** Who did it, by name where the chat knows one (`Anna`, `the resolver`, `runner box`). */
  who: string;
  /** What happened, in the words of the task's activity. */
  what: string;
}

export interface TaskPage {
  task: TaskState;
  /** The card's words for this task's last result (facts, verdict line, timer); null before any result. */
  card: CardText | null;
  /** A verdict can be given now: the task is in review on `attempt`. */
  open: boolean;
  /** The attempt a verdict from this page is for: the result's. */
  attempt: number;
  diff: { view: DiffView; patchBytes: number } | { unavailable: string } | null;
  prompt: { text: string; note: string } | null;
  log: { text: string; note: string } | null;
  /** The result's checks (DESIGN §14), in the order they ran; null when its project has none. */
  checks: PageCheck[] | null;
  timeline: TimelineEntry[];
}

export interface PageCheck {
  name: string;
  /** As the card says it: `✓ test 41 s`, `✗ lint`. */
  word: string;
  failed: boolean;
  /** How a failed check ended: `exit code 1 after 3.2 s`. */
  ending: string | null;
  /** What cos noted beside it (files it wrote, put back). */
  note: string | null;
  /** The end of its output: its log's in the run folder when this server has it, else the lines its record kept. */
  output: { text: string; note: string };
}

export async function taskPage(ctx: AppContext, id: number): Promise<TaskPage> {
  const events = await ctx.store.readStream(taskStream(id));
  if (!events.length) throw new NotFoundError(`task #${id} does not exist`);
  const { task, timeline } = await foldWithTimeline(ctx, events);
  const card = await namedCardOf(ctx, task);
  const attempt = task.result?.attempt ?? task.attempt;
  const [diff, prompt] = await Promise.all([diffOf(ctx, task), promptOf(ctx, task, events, attempt)]);
  return {
    task,
    card: card ? cardWords(ctx, card) : null,
    open: openForVerdict(task, attempt),
    attempt,
    diff,
    prompt,
    log: logOf(ctx, task, attempt),
    checks: checksOf(ctx, task, attempt),
    timeline,
  };
}

/** The task's state and, per event, the activity line it added with who and when, people by name. */
async function foldWithTimeline(ctx: AppContext, events: StoredEvent[]): Promise<{ task: TaskState; timeline: TimelineEntry[] }> {
  let state: TaskState | null = null;
  const lines: { at: string; actor: string; text: string }[] = [];
  for (const event of events) {
    const before = state?.activity.length ?? 0;
    state = evolveTask(state, toEnvelope(event));
    for (const line of state.activity.slice(before)) lines.push({ at: event.meta.at, actor: event.meta.actor, text: line.text });
  }
  const people = await peopleOf(ctx.db, lines.map((l) => l.actor));
  const timezone = ctx.config.digest.timezone;
  const timeline = lines.map((l) => ({
    at: l.at,
    when: formatTime(l.at, timezone),
    who: plainName(people.get(l.actor) ?? { actor: l.actor, name: null }),
    what: plainPeople(markActors(l.text, people)),
  }));
  return { task: state!, timeline };
}

async function diffOf(ctx: AppContext, task: TaskState): Promise<TaskPage["diff"]> {
  if (!worktreeProject(ctx, task)) return null;
  try {
    const patch = await taskDiff(ctx, task.id);
    return { view: await diffView(patch), patchBytes: Buffer.byteLength(patch) };
  } catch (error) {
    return { unavailable: toCosError(error).message };
  }
}

/**
 * The prompt the agent was given for `attempt`: the run folder's copy when this server has it, checked
 * against the hash recorded when the run started; else rebuilt from the store, which is the same text
 * when its hash matches.
 */
async function promptOf(ctx: AppContext, task: TaskState, events: StoredEvent[], attempt: number): Promise<TaskPage["prompt"]> {
  const run = task.runs.find((r) => r.attempt === attempt);
  if (!run) return null;
  const recorded = recordedPromptHash(events, attempt);
  const kept = readCapped(runFiles(lastRunDir(ctx, task, attempt)).promptFile, PROMPT_MAX_BYTES);
  if (kept !== null) {
    if (!recorded || promptHash(kept) === recorded) return { text: kept, note: `The prompt attempt ${attempt} was given (from its run folder).` };
    return { text: kept, note: `From attempt ${attempt}'s run folder; its hash differs from the one recorded when the run started (${recorded}).` };
  }
  const rebuilt = buildDispatchPrompt(await loadPromptInput(ctx.db, ctx.config, task, ctx.clock()), ctx.config.prompt.budgetTokens);
  if (recorded && rebuilt.hash === recorded) return { text: rebuilt.text, note: `The prompt attempt ${attempt} was given (rebuilt from the store; its hash matches).` };
  return {
    text: rebuilt.text,
    note: `Attempt ${attempt} ran ${run.runner ? `on ${run.runner}` : "elsewhere"}, whose run folder this server does not have: this is the prompt the task would get now, which may differ.`,
  };
}

/** The prompt hash of the attempt's run: the runner's (TaskStarted), else the dispatch's. */
function recordedPromptHash(events: StoredEvent[], attempt: number): string | null {
  let hash: string | null = null;
  for (const e of events) {
    const data = e.data as { attempt?: number; promptHash?: string };
    if ((e.type === "TaskDispatched" || e.type === "TaskStarted") && data.attempt === attempt && data.promptHash) hash = data.promptHash;
  }
  return hash;
}

function logOf(ctx: AppContext, task: TaskState, attempt: number): TaskPage["log"] {
  const run = task.runs.find((r) => r.attempt === attempt);
  if (!run) return null;
  const path = runFiles(lastRunDir(ctx, task, attempt)).logPath;
  const tail = readLogTail(path, LOG_TAIL_BYTES);
  if (!tail) return { text: "", note: `No log of attempt ${attempt} on this server${run.runner ? ` (it ran on ${run.runner})` : ""}.` };
  const lines = stripTerminalCodes(tail).replace(/\n$/, "").split("\n");
  const shown = lines.slice(-LOG_TAIL_LINES);
  return { text: shown.join("\n"), note: `The last ${shown.length} lines of attempt ${attempt}'s log.` };
}

function checksOf(ctx: AppContext, task: TaskState, attempt: number): TaskPage["checks"] {
  const checks = task.result?.checks;
  if (!checks) return null;
  const dir = join(lastRunDir(ctx, task, attempt), "checks");
  return checks.map((check) => {
    const failed = check.outcome !== "passed";
    // The name comes from the report: a path is made of it only when it is a check's name.
    const tail = CHECK_NAME.test(check.name) ? readLogTail(join(dir, `${check.name}.log`), LOG_TAIL_BYTES) : "";
    const lines = tail ? stripTerminalCodes(tail).replace(/\n$/, "").split("\n").slice(-LOG_TAIL_LINES) : null;
    return {
      name: check.name,
      word: checkWord(check),
      failed,
      ending: failed ? checkEnding(check) : null,
      note: check.note ?? null,
      output: lines
        ? { text: lines.join("\n"), note: `The last ${lines.length} lines of its log.` }
        : { text: check.tail.join("\n"), note: check.tail.length ? `The last ${check.tail.length} lines its record kept (this server has no log of it).` : "It printed nothing." },
    };
  });
}

/** The folder of the attempt's last try: the one whose result the page shows. */
function lastRunDir(ctx: AppContext, task: TaskState, attempt: number): string {
  return runDirOf(dataDirOf(ctx.config), { taskId: task.id, attempt, try: task.runs.filter((r) => r.attempt === attempt).length });
}

/** Colours and cursor moves a CLI printed for a terminal, and what a carriage return wrote over (progress bars). */
export function stripTerminalCodes(text: string): string {
  return text.replace(/\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, "").replace(/[^\n]*\r(?!\n)/g, "");
}

function readCapped(path: string, max: number): string | null {
  try {
    const text = readFileSync(path, "utf8");
    return text.length > max ? `${text.slice(0, max)}\n…` : text;
  } catch {
    return null;
  }
}
