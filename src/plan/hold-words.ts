import type { TaskStatus } from "../domain/task/task.ts";
import { hintsFor, type Hints } from "../shared/hints.ts";
import type { Hold } from "./holds.ts";

const STATUS_WORDS: Record<TaskStatus, string> = {
  queued: "queued",
  dispatched: "dispatched",
  running: "running",
  review: "in review",
  approved: "approved",
  discarded: "discarded",
  cancelled: "cancelled",
  failed: "failed",
};

/** A status as a sentence says it: "in review", not "review". */
export function statusWord(status: TaskStatus): string {
  return STATUS_WORDS[status];
}

const clocks = new Map<string, Intl.DateTimeFormat>();

export function clockTime(iso: string, timeZone: string): string {
  let clock = clocks.get(timeZone);
  if (!clock) clocks.set(timeZone, (clock = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })));
  return clock.format(new Date(iso));
}

type Ended = { id: number; status: TaskStatus };

const endedList = (ended: readonly Ended[]) => ended.map((b) => `#${b.id} was ${STATUS_WORDS[b.status]}`).join(", ");

/**
 * A task held because blockers ended badly (DESIGN §3), and the ways out with the task's own id, as
 * `cos why`, the task list and the digest say it where they are read (`hints`).
 */
export function blockerEndedWords(ended: readonly Ended[], taskId: number, hints: Hints = hintsFor("cli")): string {
  return `${endedList(ended)}; ${waysOut(taskId, hints)}`;
}

/** The alert when a blocker has just ended badly: the same facts and ways out. */
export function blockerEndedAlert(taskId: number, blocker: Ended, hints: Hints): string {
  return `its blocker ${endedList([blocker])}: ${waysOut(taskId, hints)}`;
}

/** The warning when a task is queued after a blocker that has already ended badly. */
export function queuedAfterEndedWarning(taskId: number, ended: readonly Ended[], hints: Hints): string {
  return `⚠️ ${endedList(ended)}, so #${taskId} will wait until you ${waysOut(taskId, hints).replace(/^cancel this task/, "cancel it")}`;
}

const waysOut = (taskId: number, hints: Hints) =>
  `cancel this task (${hints.cancel(taskId)}) or change its blockers (${hints.after(taskId, "none")}, or ${hints.after(taskId, "12,13")} to wait for others)`;

/**
 * A hold in words a person understands (DESIGN §4, `cos why`); a way out it offers is written for
 * where it is read (`hints`) with the held task's id.
 */
export function describeHold(hold: Hold & { taskId: number }, timeZone: string, hints: Hints = hintsFor("cli")): string {
  switch (hold.code) {
    case "usage_limit":
      return `the agent hit its usage limit; it runs again after ${clockTime(hold.until, timeZone)}`;
    case "blocked":
      return `waiting for ${hold.waitingFor.map((b) => `#${b.id} (${STATUS_WORDS[b.status]})`).join(", ")}`;
    case "blocker_ended":
      return `held: ${blockerEndedWords(hold.ended, hold.taskId, hints)}`;
    case "missing_skill":
      return hold.note;
    case "agent_busy":
      return `${hold.agent} is busy with #${hold.busyWith}`;
    case "area":
      return `area "${hold.area}" is held by #${hold.heldBy}`;
    case "cooldown":
      return (
        `cooldown: ${hold.agent} finished #${hold.finishedTask} for this goal at ${clockTime(hold.finishedAt, timeZone)}; ` +
        `${hold.mode} mode waits until ${clockTime(hold.until, timeZone)}`
      );
    case "capacity":
      return `${hold.used} of ${hold.max} slots in use`;
    case "no_runner":
      return "no runner has a free slot";
    case "paused":
      return `the resolver is paused (${hints.resume()})`;
    case "budget":
      return `tonight's budget is spent: ${hold.detail}`;
    default: {
      const never: never = hold;
      return String(never);
    }
  }
}
