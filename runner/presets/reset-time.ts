import { instantOfWallTime, wallTimeAt, type Zone } from "../../src/shared/zoned-time.ts";

// The time a CLI's limit message says it resets, as the instant from which trying again can work. CLIs print
// it relative ("try again in 3 days 6 hours", "retry in 30.5s"), as a wall-clock time ("resets 3pm
// (Europe/Berlin)", "try again at 3:47 AM", "Aug 8th, 2026 12:30 PM"), or exactly (epoch seconds).
//
// A wall-clock time is printed to the minute, rounded down (Claude Code prints 03:46:51 as "3:46am", Codex
// as "3:46 AM"), so it means the end of that minute. Every reset gets a margin on top: the vendor's clock
// and this host's differ by seconds, and a dispatch a second early is a dispatch wasted.

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** Added to every reset time read from a CLI. */
export const RESET_MARGIN_MS = 15_000;

/** The instant from which the limit a message names has lifted (ISO), or null when it names none that can be believed. */
export function resetTime(text: string, now: Date): string | null {
  const relative = /\b(?:try again|retry|resets?|quota will reset|available again)\s+(?:in|after)\s+/i.exec(text);
  if (relative) {
    const ms = parseDuration(text.slice(relative.index + relative[0].length));
    if (ms !== null) return plausible(Math.ceil((now.getTime() + ms) / 1000) * 1000 + RESET_MARGIN_MS, now);
  }
  const absolute = /\b(?:resets?|reset (?:at|on)|try again(?: at)?|available (?:again )?at|ends on)\s+(?:at\s+|on\s+)?/gi;
  for (const m of text.matchAll(absolute)) {
    const when = parseWhen(text.slice(m.index + m[0].length), now);
    if (when !== null) return plausible(when.at + when.precisionMs + RESET_MARGIN_MS, now);
  }
  return null;
}

/** An exact reset a CLI gave in epoch seconds (Claude Code's `resetsAt`), with the margin. */
export function exactReset(epochSeconds: number, now: Date): string | null {
  return plausible(epochSeconds * 1000 + RESET_MARGIN_MS, now);
}

/** A reset more than a day in the past or over a year ahead is a misread, not a time to wait for. */
export function plausible(ms: number, now: Date): string | null {
  if (!Number.isFinite(ms) || ms < now.getTime() - DAY_MS || ms > now.getTime() + 400 * DAY_MS) return null;
  return new Date(ms).toISOString();
}

function parseDuration(text: string): number | null {
  const UNIT = /^\s*(?:,\s*|and\s+)?(\d+(?:\.\d+)?)\s*(ms|milliseconds?|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)(?![a-z])/i;
  const perUnit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS, d: DAY_MS };
  let rest = text;
  let total = 0;
  let matched = false;
  for (let m = UNIT.exec(rest); m; m = UNIT.exec(rest)) {
    const unit = m[2]!.toLowerCase();
    const key = unit === "ms" || unit.startsWith("milli") ? "ms" : unit.startsWith("mi") || unit === "m" ? "m" : unit[0]!;
    total += Number(m[1]) * perUnit[key]!;
    matched = true;
    rest = rest.slice(m[0].length);
  }
  return matched ? total : null;
}

/**
 * An absolute time at the start of `text`: "3pm", "5:00 PM", "15:00", "Oct 9, 5pm", "Aug 8th, 2026 12:30 PM", "Aug 18",
 * "9/23/2026", each with an optional zone "(Europe/Berlin)", "(UTC)", "UTC+2". Without a zone it is the runner's
 * local time: the CLI printed it on this host (the runner passes its TZ on). A bare time that is more than an hour
 * past means tomorrow. `precisionMs`: a minute when a time of day was printed; a date alone is its day's start,
 * and the back-off takes over should the limit outlast it.
 */
function parseWhen(text: string, now: Date): { at: number; precisionMs: number } | null {
  let rest = text;
  /** The month is 1–12, as in a WallTime. */
  let date: { year: number | null; month: number; day: number } | null = null;
  let m = /^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(\d{4})(?!\d))?/i.exec(rest);
  if (m) {
    date = { year: m[3] ? Number(m[3]) : null, month: MONTHS.indexOf(m[1]!.toLowerCase()) + 1, day: Number(m[2]) };
  } else if ((m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?!\d)/.exec(rest))) {
    date = { year: Number(m[3]), month: Number(m[1]), day: Number(m[2]) };
  }
  if (m) rest = rest.slice(m[0].length).replace(/^,?\s*(?:at\s+)?/i, "");
  if (date && (date.month < 1 || date.month > 12 || date.day < 1 || date.day > 31)) return null;

  let time: { hour: number; minute: number } | null = null;
  const twelve = /^(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?(?![a-z])/i.exec(rest);
  const twentyFour = twelve ? null : /^(\d{1,2}):(\d{2})(?!\d)/.exec(rest);
  if (twelve) {
    const h = Number(twelve[1]);
    const minute = Number(twelve[2] ?? 0);
    if (h < 1 || h > 12 || minute > 59) return null;
    time = { hour: (h % 12) + (twelve[3]!.toLowerCase() === "p" ? 12 : 0), minute };
    rest = rest.slice(twelve[0].length);
  } else if (twentyFour) {
    const hour = Number(twentyFour[1]);
    const minute = Number(twentyFour[2]);
    if (hour > 23 || minute > 59) return null;
    time = { hour, minute };
    rest = rest.slice(twentyFour[0].length);
  }
  if (!date && !time) return null;

  const zoneText =
    /^\s*\(([^)]{1,40})\)/.exec(rest)?.[1] ??
    /^\s*((?:UTC|GMT)(?:\s*[+-]\d{1,2}(?::?\d{2})?)?|Z)(?![A-Za-z])/i.exec(rest)?.[1] ??
    /^\s*([A-Z][A-Za-z_]+\/[A-Za-z_/+-]+)/.exec(rest)?.[1];
  const zone = parseZone(zoneText);
  const nowMs = now.getTime();
  const clock = time ?? { hour: 0, minute: 0 };
  if (date) {
    const year = date.year ?? wallTimeAt(nowMs, zone).year;
    const on = { month: date.month, day: date.day, ...clock };
    let at = instantOfWallTime({ year, ...on }, zone);
    if (date.year === null && at < nowMs - DAY_MS) at = instantOfWallTime({ year: year + 1, ...on }, zone);
    return { at, precisionMs: time ? MINUTE_MS : 0 };
  }
  const today = wallTimeAt(nowMs, zone);
  let at = instantOfWallTime({ ...today, ...clock }, zone);
  if (at < nowMs - HOUR_MS) at = instantOfWallTime({ ...today, day: today.day + 1, ...clock }, zone);
  return { at, precisionMs: MINUTE_MS };
}

/** The zone a CLI named after a time; a name this host does not know is read as its local time. */
function parseZone(text: string | undefined): Zone {
  if (!text) return { kind: "local" };
  const name = text.trim();
  if (/^(?:UTC|GMT|Z)$/i.test(name)) return { kind: "offset", minutes: 0 };
  const offset = /^(?:UTC|GMT)\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(name);
  if (offset) return { kind: "offset", minutes: (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3] ?? 0)) };
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return { kind: "iana", name };
  } catch {
    return { kind: "local" };
  }
}
