import { ianaZone, lastWallTimeAtOrBefore } from "../shared/zoned-time.ts";

/**
 * When tonight began: the latest instant ≤ now at which the clock in `timeZone` read `hhmm`, as
 * ISO-8601 UTC. The budget and the agents' follow-up allowance count from it.
 */
export function nightStart(now: Date, hhmm: string, timeZone: string): string {
  return lastWallTimeAtOrBefore(now, hhmm, ianaZone(timeZone)).toISOString();
}
