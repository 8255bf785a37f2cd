// When a task that hit its agent's usage limit (a plan's limit, a quota, an API's 429) is tried again (DESIGN
// §4). At the reset its CLI named, when that is still ahead; a reset at or before now was wrong or is over while
// the limit persists, and is never used: then, as when the CLI named none, the task backs off, 1, 2, 4 … 30
// minutes, doubling with each limit in a row. A usage limit spends no attempt.

const MINUTE_MS = 60_000;
/** The longest back-off: a limit that persists is tried again every half hour. */
export const MAX_LIMIT_BACKOFF_MINUTES = 30;

/** The back-off after `streak` usage limits in a row before this one: 1, 2, 4, 8, 16, 30, 30 … minutes. */
export function limitBackoffMinutes(streak: number): number {
  return Math.min(MAX_LIMIT_BACKOFF_MINUTES, 2 ** Math.max(0, Math.min(streak, 10)));
}

/** The time the task may be dispatched again. */
export function usageLimitRetryAt(reportedReset: string | null, now: string, streak: number): string {
  const nowMs = Date.parse(now);
  const reset = reportedReset === null ? Number.NaN : Date.parse(reportedReset);
  if (Number.isFinite(reset) && reset > nowMs) return new Date(reset).toISOString();
  return new Date(nowMs + limitBackoffMinutes(streak) * MINUTE_MS).toISOString();
}
