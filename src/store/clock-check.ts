import { IllegalStateError } from "../shared/errors.ts";
import type { Tx } from "./db.ts";

// Event times never go backwards (issue 12, item 6). Two rules, checked in every append:
// - within a stream, an event is never dated before the one it follows: a clock a little behind another
//   process's (less than a minute) dates its event at the stream's last time instead;
// - a process whose clock is more than a minute behind the newest event in the store refuses to write. Its
//   times would be wrong by hours, and timers start from them: a result dated 20 h ago is auto-approved at the
//   next pass. The same holds for COS_NOW, which is this process's clock: a simulation moves it forward.

/** How far behind the newest event a clock may be before the process refuses to write. */
export const MAX_CLOCK_LAG_MS = 60_000;

export interface LastTimes {
  /** The newest event of the log (by position): its time, position and actor. */
  newest: { at: string; position: number; actor: string } | null;
  /** The time of each appended stream's last event, for streams that have one. */
  streams: Map<string, string>;
}

/** The time to date an append's events at, or a refusal. Pure. */
export function appendTime(at: string, last: LastTimes): string {
  const clock = Date.parse(at);
  if (last.newest) {
    const lag = Date.parse(last.newest.at) - clock;
    if (lag > MAX_CLOCK_LAG_MS) {
      throw new IllegalStateError(
        `refused to write: this process's clock says ${at}, ${describeLag(lag)} behind the newest event in the store ` +
          `(#${last.newest.position} by ${last.newest.actor} at ${last.newest.at}). Events dated in the past would start timers ` +
          `(auto-approval, leases, cooldowns) from the wrong time. Set this machine's clock right (NTP); if COS_NOW is set, ` +
          `move it past ${last.newest.at}; if that event's clock was ahead instead, set that machine's clock right and wait for it.`,
      );
    }
  }
  let latest = at;
  for (const streamAt of last.streams.values()) if (Date.parse(streamAt) > Date.parse(latest)) latest = streamAt;
  return latest;
}

function describeLag(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes < 120 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

/** The newest event and the last event of each given stream at the version the append expects. */
export async function lastTimes(tx: Tx, versions: ReadonlyMap<string, number>): Promise<LastTimes> {
  const pairs = [...versions].filter(([, version]) => version > 0);
  const result = await tx.execute({
    sql:
      `SELECT NULL AS stream, position, json_extract(meta, '$.at') AS at, json_extract(meta, '$.actor') AS actor ` +
      `FROM (SELECT position, meta FROM events ORDER BY position DESC LIMIT 1)` +
      (pairs.length
        ? ` UNION ALL SELECT stream, position, json_extract(meta, '$.at'), NULL FROM events WHERE ${pairs.map(() => "(stream = ? AND version = ?)").join(" OR ")}`
        : ""),
    args: pairs.flat(),
  });
  const last: LastTimes = { newest: null, streams: new Map() };
  for (const row of result.rows) {
    if (row.stream === null) last.newest = { at: String(row.at), position: Number(row.position), actor: String(row.actor) };
    else last.streams.set(String(row.stream), String(row.at));
  }
  return last;
}
