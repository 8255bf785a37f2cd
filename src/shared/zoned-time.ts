// Wall-clock times in a zone, turned into instants and back. The one place that knows how: the
// resolver's night, the digest's day and a CLI's printed reset time ("resets 1:52am (UTC)") all use it.

/** A zone as people and CLIs write it: an IANA name, a fixed offset, or the machine's own. */
export type Zone = { kind: "iana"; name: string } | { kind: "offset"; minutes: number } | { kind: "local" };

export interface WallTime {
  year: number;
  /** 1–12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
}

export function ianaZone(name: string): Zone {
  return { kind: "iana", name };
}

/** Milliseconds to add to UTC to get the zone's wall clock at `ms`. */
export function zoneOffsetMs(ms: number, zone: Zone): number {
  if (zone.kind === "local") return -new Date(ms).getTimezoneOffset() * 60_000;
  if (zone.kind === "offset") return zone.minutes * 60_000;
  const parts = Object.fromEntries(
    formatter(zone.name)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, Number(p.value)]),
  );
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** What a clock in `zone` reads at `at`. */
export function wallTimeAt(at: Date | number, zone: Zone): WallTime {
  const ms = typeof at === "number" ? at : at.getTime();
  const shifted = new Date(ms + zoneOffsetMs(ms, zone));
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
  };
}

/**
 * The instant at which a clock in `zone` reads this wall time (epoch ms). Day overflow rolls over (the
 * 32nd is the 1st of the next month; day 0 the last of the previous one). Near a DST change the offset
 * at the first guess can differ from the offset at the answer, hence the second correction.
 */
export function instantOfWallTime(wall: WallTime, zone: Zone): number {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  if (zone.kind === "local") return new Date(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute).getTime();
  const first = asUtc - zoneOffsetMs(asUtc, zone);
  return asUtc - zoneOffsetMs(first, zone);
}

/** The latest instant ≤ now at which the clock in `zone` read `hh:mm` (a night's start, a day's digest time). */
export function lastWallTimeAtOrBefore(now: Date, hhmm: string, zone: Zone): Date {
  const [hour, minute] = hhmm.split(":").map(Number) as [number, number];
  const today = wallTimeAt(now, zone);
  let at = instantOfWallTime({ ...today, hour, minute }, zone);
  // Yesterday by the calendar, not 24 hours back: days with a clock change are 23 or 25 hours long.
  if (at > now.getTime()) at = instantOfWallTime({ ...today, day: today.day - 1, hour, minute }, zone);
  return new Date(at);
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

// A formatter is costly to make (a review page formats dozens of times), cheap to reuse: one per zone.
const readable = new Map<string, Intl.DateTimeFormat>();

/** An instant as people read it in a zone: `Tue 24 Nov 07:30 UTC`. */
export function formatTime(iso: string, timezone: string): string {
  let formatter = readable.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-GB", {
      timeZone: timezone,
      weekday: "short",
      day: "numeric",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
    });
    readable.set(timezone, formatter);
  }
  const parts = formatter.formatToParts(new Date(iso));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("weekday")} ${get("day")} ${get("month")} ${get("hour")}:${get("minute")} ${get("timeZoneName")}`;
}
