import cron from "node-cron";
import type { AppContext } from "./context.ts";

// When the digest is due: the times digest.cron fires in digest.timezone, as the injected clock sees
// them (node-cron's own schedule runs on the machine's clock; these read the pattern only).

const MINUTE = 60_000;
/** A daily digest's last time is at most a day back; a week covers any cron for the next one. */
const LOOK_BACK_MINUTES = 24 * 60;
const LOOK_AHEAD_MINUTES = 8 * 24 * 60;

/** The first minute from `now`, walking `step` minutes at a time for up to `limit`, at which the digest's cron fires. */
function firstFiring(ctx: AppContext, now: Date, step: 1 | -1, from: number, limit: number): Date | null {
  // A task made only to read its pattern; node-cron keeps every task it makes until it is destroyed.
  const task = cron.createTask(ctx.config.digest.cron, () => {}, { timezone: ctx.config.digest.timezone });
  try {
    const start = Math.floor(now.getTime() / MINUTE) * MINUTE;
    for (let i = from; i <= limit; i++) {
      const at = new Date(start + step * i * MINUTE);
      if (task.match(at)) return at;
    }
    return null;
  } finally {
    void task.destroy();
  }
}

/** The last time the digest's cron fired at or before `now`, within a day; null when it did not. */
export function lastDigestTime(ctx: AppContext, now: Date = ctx.clock()): Date | null {
  return firstFiring(ctx, now, -1, 0, LOOK_BACK_MINUTES);
}

/** The next time the digest is due after `now`; null when the cron never fires within a week. */
export function nextDigestTime(ctx: AppContext, now: Date = ctx.clock()): Date | null {
  return firstFiring(ctx, now, 1, 1, LOOK_AHEAD_MINUTES);
}
