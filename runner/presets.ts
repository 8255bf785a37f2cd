import type { PRESET_NAMES } from "../src/config/config.ts";
import type { Usage } from "../src/domain/task/task.ts";
import { ValidationError } from "../src/shared/errors.ts";

// What the runner knows about each agent CLI: how to invoke it unattended, and how to read what it prints
// about cost, tokens and usage limits. Every preset takes the prompt on stdin (the runner always pipes it,
// DESIGN §7): the CLIs that also take it as an argument would otherwise see it twice.
//
// Parsers read recorded CLI output and return null rather than a guess: a wrong cost would skew the nightly
// budget, and a false usage limit would park a task for hours.

export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  /** Default argv with placeholders. */
  command: string[];
  /** Cost and tokens as the CLI reports them, or null. */
  usage(output: string, log: string): Usage | null;
  /** The CLI's usage-limit message and its reset time (ISO), or null when there is none. */
  usageLimit(output: string, log: string, now: Date): { resetAt: string | null } | null;
  /** One line for the README: how it is invoked, what it reports. */
  notes: string;
}

type Json = Record<string, unknown>;

export const PRESETS: Record<PresetName, Preset> = {
  "claude-code": {
    command: ["claude", "-p", "--output-format", "json", "--permission-mode", "acceptEdits"],
    usage: (output, log) => {
      const found = claudeResult(output, log);
      const cost = found ? num(found.total_cost_usd) ?? num(found.cost_usd) : lenientClaudeCost(output, log);
      const usage = found ? (isObject(found.usage) ? found.usage : {}) : lenientClaudeUsage(output, log);
      const inputParts = [usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens].map(num);
      const input = inputParts.every((n) => n === null) ? null : inputParts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
      return usageOrNull({ costUsd: cost, inputTokens: input, outputTokens: num(usage.output_tokens) });
    },
    usageLimit: (output, log, now) => {
      const found = claudeResult(output, log);
      if (found && found.is_error !== true) return null;
      const inResult = found && typeof found.result === "string" ? limitIn(found.result, CLAUDE_LIMIT, now) : null;
      return inResult ?? limitIn(scanText(output, log), CLAUDE_LIMIT, now);
    },
    notes:
      "`claude -p --output-format json --permission-mode acceptEdits`, prompt on stdin; stores `total_cost_usd` and `usage` tokens (input counts cache reads and writes); " +
      "\"…limit reached\" / \"You've hit your limit · resets 3pm (Europe/Berlin)\" / \"…|<epoch>\" re-queues the task for the reset. Shell commands need `--allowedTools` or another permission mode in `command`.",
  },
  codex: {
    command: ["codex", "exec", "--full-auto", "-"],
    usage: (output, log) => {
      // Plain output reports one blended total ("tokens used 12,345"), which Usage cannot hold without lying about
      // the split; with `--json` every turn.completed event carries input and output tokens.
      let input: number | null = null;
      let outputTokens: number | null = null;
      for (const event of jsonLines(pickText(output, log, (o) => o.type === "turn.completed"))) {
        if (event.type !== "turn.completed" || !isObject(event.usage)) continue;
        const inTokens = num(event.usage.input_tokens);
        const outTokens = num(event.usage.output_tokens);
        if (inTokens !== null) input = (input ?? 0) + inTokens;
        if (outTokens !== null) outputTokens = (outputTokens ?? 0) + outTokens;
      }
      return usageOrNull({ costUsd: null, inputTokens: input, outputTokens });
    },
    usageLimit: (output, log, now) => {
      const text = scanText(output, log);
      const events = jsonLines(text);
      for (const event of events.reverse()) {
        if (event.type === "turn.completed") return null;
        const message =
          event.type === "error" ? event.message : event.type === "turn.failed" && isObject(event.error) ? event.error.message : undefined;
        const limit = typeof message === "string" ? limitIn(message, CODEX_LIMIT, now) : null;
        if (limit) return limit;
      }
      return limitIn(text, CODEX_LIMIT, now);
    },
    notes:
      "`codex exec --full-auto -`, prompt on stdin, its last message (stdout) is the result; plain output reports only a blended token total, " +
      "so tokens are stored when `--json` is added to `command`; \"You've hit your usage limit … try again at 3:28 PM\" (or \"in 2 hours\") re-queues the task.",
  },
  aider: {
    command: ["aider", "--yes-always", "--no-auto-commits", "--no-pretty", "--message-file", "{promptFile}"],
    usage: (output, log) => {
      const text = log.trim() ? log : output;
      let sent: number | null = null;
      let received: number | null = null;
      for (const m of text.matchAll(AIDER_TOKENS)) {
        const [s, r] = [count(m[1]!), count(m[2]!)];
        if (s !== null) sent = (sent ?? 0) + s;
        if (r !== null) received = (received ?? 0) + r;
      }
      // The session figure is cumulative, so the last one is the run's cost even when earlier reports were cut.
      let session: number | null = null;
      let messages: number | null = null;
      for (const m of text.matchAll(AIDER_COST)) {
        const message = num(Number(m[1]!.replace(/,/g, "")));
        if (message !== null) messages = (messages ?? 0) + message;
        session = num(Number(m[2]!.replace(/,/g, ""))) ?? session;
      }
      return usageOrNull({ costUsd: session ?? messages, inputTokens: sent, outputTokens: received });
    },
    usageLimit: (output, log, now) => {
      const limit = findLimitLine(scanText(output, log), AIDER_LIMIT, now);
      // aider retries rate limits itself: a token report after the error means it went on and finished.
      if (!limit || AIDER_TOKENS_LINE.test(limit.after)) return null;
      return { resetAt: limit.resetAt };
    },
    notes:
      "`aider --yes-always --no-auto-commits --no-pretty --message-file {promptFile}`; stdout is its chat transcript (the result unless it writes COS_RESULT_FILE); " +
      "cost is its last \"Cost: … $X session\", tokens the sum of the \"Tokens: 12k sent, 1.2k received\" lines in the log text given (rounded as printed); rate-limit and quota errors it gave up on re-queue the task.",
  },
  gemini: {
    command: ["gemini", "--output-format", "json", "--approval-mode", "auto_edit"],
    usage: (output, log) => {
      const found = geminiJson(output, log);
      if (!found || !isObject(found.stats)) return null;
      const stats = found.stats;
      let input: number | null = null;
      let outputTokens: number | null = null;
      const add = (inTokens: number | null, outTokens: number | null) => {
        if (inTokens !== null) input = (input ?? 0) + inTokens;
        if (outTokens !== null) outputTokens = (outputTokens ?? 0) + outTokens;
      };
      if (isObject(stats.models)) {
        for (const model of Object.values(stats.models)) {
          if (!isObject(model) || !isObject(model.tokens)) continue;
          const t = model.tokens;
          // Thinking tokens are billed as output.
          const out = [num(t.candidates), num(t.thoughts)];
          add(num(t.prompt) ?? num(t.input), out.every((n) => n === null) ? null : (out[0] ?? 0) + (out[1] ?? 0));
        }
      } else {
        // stream-json's result event and some older versions give flat totals.
        add(num(stats.input_tokens) ?? num(stats.inputTokens), num(stats.output_tokens) ?? num(stats.outputTokens));
      }
      return usageOrNull({ costUsd: null, inputTokens: input, outputTokens });
    },
    usageLimit: (output, log, now) => {
      const found = geminiJson(output, log);
      if (found) {
        const error = isObject(found.error) ? found.error : null;
        if (!error) return found.status === "error" ? limitIn(scanText(output, log), GEMINI_LIMIT, now) : null;
        const message = typeof error.message === "string" ? error.message : "";
        const limit = limitIn(message, GEMINI_LIMIT, now);
        if (limit) return limit;
        if (error.code === 429 || error.status === "RESOURCE_EXHAUSTED") return { resetAt: resetTime(message, now) };
      }
      return limitIn(scanText(output, log), GEMINI_LIMIT, now);
    },
    notes:
      "`gemini --output-format json --approval-mode auto_edit`, prompt on stdin; the JSON's `response` is the result and `stats.models.*.tokens` give input (prompt) and output (candidates + thoughts) tokens, " +
      "no cost; \"Quota exceeded … Please retry in 30s\", RESOURCE_EXHAUSTED or \"quota will reset after 2h5m\" re-queues the task.",
  },
};

/** The argv to run: the configured command wins over the preset's. */
export function agentCommand(agent: { preset?: PresetName; command?: string[] }): string[] {
  if (agent.command?.length) return [...agent.command];
  if (agent.preset) return [...PRESETS[agent.preset].command];
  throw new ValidationError("the agent has neither a command nor a preset");
}

/**
 * The result Markdown inside a CLI's structured stdout: Claude Code's `result`, Gemini's `response`, Codex's last
 * agent message when it prints JSON lines. Anything else, and any output that is not such JSON, comes back as is.
 * Meant for captured stdout, not for a COS_RESULT_FILE the agent wrote.
 */
export function resultText(preset: PresetName | undefined, output: string): string {
  switch (preset) {
    case "claude-code": {
      const found = claudeResult(output, "");
      return typeof found?.result === "string" ? found.result : output;
    }
    case "gemini": {
      const found = geminiJson(output, "");
      return typeof found?.response === "string" ? found.response : output;
    }
    case "codex": {
      const messages = jsonLines(output).flatMap((event) =>
        event.type === "item.completed" && isObject(event.item) && event.item.type === "agent_message" && typeof event.item.text === "string"
          ? [event.item.text]
          : [],
      );
      return messages.at(-1) ?? output;
    }
    case "aider":
    case undefined:
      return output;
    default: {
      const unknown: never = preset;
      return unknown;
    }
  }
}

// ---- usage-limit messages ----------------------------------------------------------------------------------

/** The lines that announce a limit, matched at the start of a line (after decoration), so prose about limits is not one. */
const CLAUDE_LIMIT = [
  /^Claude AI usage limit reached\b/i,
  /^Claude usage limit reached\b/i,
  /^(?:5-hour|five-hour|session|daily|weekly|opus|sonnet|usage)(?: [\w-]+)? limit reached\b/i,
  /^You(?:'|’)ve (?:hit|reached) your (?:[\w-]+ ){0,3}limit\b/i,
];
const CODEX_LIMIT = [
  /^You(?:'|’)ve hit your (?:[\w-]+ )?usage limit\b/i,
  /^Rate limit reached for\b.*\btry again in\b/i,
  /^exceeded retry limit, last status: 429\b/i,
];
const AIDER_LIMIT = [
  /^litellm\.RateLimitError\b/,
  /^The API provider has rate limited you\b/i,
  /^litellm\.\w+Error:.*\b(?:exceeded your current quota|insufficient_quota|credit balance is too low)\b/i,
];
const GEMINI_LIMIT = [
  /\bRESOURCE_EXHAUSTED\b/,
  /\bQuota exceeded\b/i,
  /\bexhausted your capacity\b/i,
  /\breached your (?:[\w.-]+ ){0,4}quota\b/i,
  /^Usage limit reached\b/i,
  /\bTerminalQuotaError\b/,
];
/** Decoration CLIs put before a message: bullets, box-drawing, "ERROR:", "[API Error: …", a timestamp in brackets. */
const LINE_PREFIX = /^(?:\s|[⎿■●•*>!│|─-]|\[[^\]]{0,40}\]\s|\[?(?:API )?Error:\s*)*/i;
/** How much of the end of a run's output is searched: the message is the last thing a CLI prints before it gives up. */
const SCAN_CHARS = 16 * 1024;

interface LimitFound {
  resetAt: string | null;
  /** The text from the limit line on. */
  after: string;
}

/** The last line of `text` that announces a limit, with the reset time it (or the next two lines) names. */
function findLimitLine(text: string, patterns: RegExp[], now: Date): LimitFound | null {
  const lines = stripAnsi(text).split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.replace(/\r$/, "").replace(LINE_PREFIX, "");
    if (!patterns.some((p) => p.test(line))) continue;
    // The reset time is on the line, or on a neighbour: CLIs wrap, and aider prints the API's error just before its own.
    const around = [line, ...lines.slice(i + 1, i + 3), ...lines.slice(Math.max(0, i - 2), i).reverse()].join(" ");
    const epoch = /usage limit reached\|(\d{9,11})\b/i.exec(line);
    return { resetAt: epoch ? plausible(Number(epoch[1]) * 1000, now) : resetTime(around, now), after: lines.slice(i).join("\n") };
  }
  return null;
}

function limitIn(text: string, patterns: RegExp[], now: Date): { resetAt: string | null } | null {
  const found = findLimitLine(text, patterns, now);
  return found && { resetAt: found.resetAt };
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The reset time a message names, relative ("try again in 3 days 6 hours", "retry in 30.5s") or absolute ("resets 3pm (Europe/Berlin)"). */
function resetTime(text: string, now: Date): string | null {
  const relative = /\b(?:try again|retry|resets?|quota will reset|available again)\s+(?:in|after)\s+/i.exec(text);
  if (relative) {
    const ms = parseDuration(text.slice(relative.index + relative[0].length));
    if (ms !== null) return plausible(Math.ceil((now.getTime() + ms) / 1000) * 1000, now);
  }
  const absolute = /\b(?:resets?|reset (?:at|on)|try again(?: at)?|available (?:again )?at|ends on)\s+(?:at\s+|on\s+)?/gi;
  for (const m of text.matchAll(absolute)) {
    const when = parseWhen(text.slice(m.index + m[0].length), now);
    if (when !== null) return plausible(when, now);
  }
  return null;
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

type Zone = { kind: "local" } | { kind: "offset"; minutes: number } | { kind: "iana"; name: string };

/**
 * An absolute time at the start of `text`: "3pm", "5:00 PM", "15:00", "Oct 9, 5pm", "Aug 8th, 2026 12:30 PM", "Aug 18",
 * "9/23/2026", each with an optional zone "(Europe/Berlin)", "(UTC)", "UTC+2". Without a zone it is the runner's
 * local time: the CLI printed it on this host. A bare time that is more than an hour past means tomorrow.
 */
function parseWhen(text: string, now: Date): number | null {
  let rest = text;
  let date: { y: number | null; mo: number; d: number } | null = null;
  let m = /^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(\d{4})(?!\d))?/i.exec(rest);
  if (m) {
    date = { y: m[3] ? Number(m[3]) : null, mo: MONTHS.indexOf(m[1]!.toLowerCase()), d: Number(m[2]) };
  } else if ((m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?!\d)/.exec(rest))) {
    date = { y: Number(m[3]), mo: Number(m[1]) - 1, d: Number(m[2]) };
  }
  if (m) rest = rest.slice(m[0].length).replace(/^,?\s*(?:at\s+)?/i, "");
  if (date && (date.mo < 0 || date.mo > 11 || date.d < 1 || date.d > 31)) return null;

  let time: { h: number; mi: number } | null = null;
  const twelve = /^(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?(?![a-z])/i.exec(rest);
  const twentyFour = twelve ? null : /^(\d{1,2}):(\d{2})(?!\d)/.exec(rest);
  if (twelve) {
    const h = Number(twelve[1]);
    const mi = Number(twelve[2] ?? 0);
    if (h < 1 || h > 12 || mi > 59) return null;
    time = { h: (h % 12) + (twelve[3]!.toLowerCase() === "p" ? 12 : 0), mi };
    rest = rest.slice(twelve[0].length);
  } else if (twentyFour) {
    const h = Number(twentyFour[1]);
    const mi = Number(twentyFour[2]);
    if (h > 23 || mi > 59) return null;
    time = { h, mi };
    rest = rest.slice(twentyFour[0].length);
  }
  if (!date && !time) return null;

  const zoneText =
    /^\s*\(([^)]{1,40})\)/.exec(rest)?.[1] ??
    /^\s*((?:UTC|GMT)(?:\s*[+-]\d{1,2}(?::?\d{2})?)?|Z)(?![A-Za-z])/i.exec(rest)?.[1] ??
    /^\s*([A-Z][A-Za-z_]+\/[A-Za-z_/+-]+)/.exec(rest)?.[1];
  const zone = parseZone(zoneText);
  const nowMs = now.getTime();
  const { h, mi } = time ?? { h: 0, mi: 0 };
  if (date) {
    const year = date.y ?? wallDate(nowMs, zone).y;
    let at = zonedTime(year, date.mo, date.d, h, mi, zone);
    if (date.y === null && at < nowMs - DAY_MS) at = zonedTime(year + 1, date.mo, date.d, h, mi, zone);
    return at;
  }
  const today = wallDate(nowMs, zone);
  let at = zonedTime(today.y, today.mo, today.d, h, mi, zone);
  if (at < nowMs - HOUR_MS) at = zonedTime(today.y, today.mo, today.d + 1, h, mi, zone);
  return at;
}

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

/** The calendar date of an instant in a zone (month 0-based). */
function wallDate(ms: number, zone: Zone): { y: number; mo: number; d: number } {
  if (zone.kind === "local") {
    const at = new Date(ms);
    return { y: at.getFullYear(), mo: at.getMonth(), d: at.getDate() };
  }
  const at = new Date(ms + zoneOffset(ms, zone));
  return { y: at.getUTCFullYear(), mo: at.getUTCMonth(), d: at.getUTCDate() };
}

/** The instant of a wall-clock time in a zone; day overflow (the 32nd) rolls into the next month. */
function zonedTime(y: number, mo: number, d: number, h: number, mi: number, zone: Zone): number {
  if (zone.kind === "local") return new Date(y, mo, d, h, mi).getTime();
  const asUtc = Date.UTC(y, mo, d, h, mi);
  const first = asUtc - zoneOffset(asUtc, zone);
  // Near a DST change the offset at the guess can differ from the offset at the answer.
  return asUtc - zoneOffset(first, zone);
}

/** Milliseconds to add to UTC to get the zone's wall clock at `ms`. */
function zoneOffset(ms: number, zone: Zone): number {
  if (zone.kind === "local") return -new Date(ms).getTimezoneOffset() * 60_000;
  if (zone.kind === "offset") return zone.minutes * 60_000;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone.name,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, Number(p.value)]),
  );
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** A reset more than a day in the past or over a year ahead is a misread, not a time to wait for. */
function plausible(ms: number, now: Date): string | null {
  if (!Number.isFinite(ms) || ms < now.getTime() - DAY_MS || ms > now.getTime() + 400 * DAY_MS) return null;
  return new Date(ms).toISOString();
}

// ---- structured output -------------------------------------------------------------------------------------

const AIDER_TOKENS =
  /Tokens: ([\d.,]+[kKmM]?) sent(?:, [\d.,]+[kKmM]? cache write)?(?:, [\d.,]+[kKmM]? cache hit)?, ([\d.,]+[kKmM]?) received\./g;
const AIDER_TOKENS_LINE = /Tokens: [\d.,]+[kKmM]? sent\b/;
const AIDER_COST = /Cost: \$([\d.,]+) message, \$([\d.,]+) session\./g;

/** "12k", "1.2k", "999", "1.5M" as aider prints counts. */
function count(text: string): number | null {
  const m = /^([\d.,]+)([kKmM]?)$/.exec(text);
  if (!m) return null;
  const value = Number(m[1]!.replace(/,/g, ""));
  const factor = m[2] ? (m[2].toLowerCase() === "k" ? 1_000 : 1_000_000) : 1;
  return num(Math.round(value * factor));
}

function claudeResult(output: string, log: string): Json | null {
  return lastJsonObject([output, log], (o) => o.type === "result" || "total_cost_usd" in o || "cost_usd" in o);
}

function geminiJson(output: string, log: string): Json | null {
  return lastJsonObject([output, log], (o) => typeof o.response === "string" || isObject(o.stats) || isObject(o.error));
}

/** When the result JSON is too long for the captured tail its start is cut, but its cost and usage come last. */
function lenientClaudeCost(output: string, log: string): number | null {
  for (const text of [output, log]) {
    const all = [...text.matchAll(/"total_cost_usd"\s*:\s*(-?[\d.eE+-]+)/g)];
    const last = all.at(-1);
    if (last) return num(Number(last[1]));
  }
  return null;
}

function lenientClaudeUsage(output: string, log: string): Json {
  for (const text of [output, log]) {
    const at = text.lastIndexOf('"usage"');
    if (at < 0) continue;
    const open = text.indexOf("{", at);
    const body = open >= 0 ? objectAt(text, open) : null;
    if (body) {
      try {
        const parsed: unknown = JSON.parse(body);
        if (isObject(parsed)) return parsed;
      } catch {
        // not JSON after all
      }
    }
  }
  return {};
}

/**
 * The last JSON object that starts at the beginning of a line (compact or pretty-printed) and passes `accept`,
 * searched in each text in turn. Objects nested inside others start indented, so they are not candidates.
 */
function lastJsonObject(texts: string[], accept: (o: Json) => boolean): Json | null {
  for (const text of texts) {
    let tries = 0;
    for (let start = text.lastIndexOf("\n{"); tries < 64; start = text.lastIndexOf("\n{", start - 1)) {
      const at = start < 0 ? 0 : start + 1;
      if (text[at] === "{") {
        tries++;
        const body = objectAt(text, at);
        if (body) {
          try {
            const parsed: unknown = JSON.parse(body);
            if (isObject(parsed) && accept(parsed)) return parsed;
          } catch {
            // a line that only looks like JSON
          }
        }
      }
      if (start <= 0) break;
    }
  }
  return null;
}

/** The JSON objects printed one per line, in order. */
function jsonLines(text: string): Json[] {
  const events: Json[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) continue;
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (isObject(parsed)) events.push(parsed);
    } catch {
      // not an event
    }
  }
  return events;
}

/** The text of the object starting at `start`, up to its matching brace (strings respected), or null when cut off. */
function objectAt(text: string, start: number): string | null {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 92) escaped = true;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123) depth++;
    else if (c === 125 && --depth === 0) return text.slice(start, i + 1);
  }
  return null;
}

/** The end of the run's output to search for a limit message: the log (stdout and stderr) when given, else stdout. */
function scanText(output: string, log: string): string {
  const text = log.trim() ? log : output;
  if (text.length <= SCAN_CHARS) return text;
  const tail = text.slice(-SCAN_CHARS);
  return tail.slice(tail.indexOf("\n") + 1);
}

/** Whichever of stdout and the log holds what `has` looks for; stdout first, it is not interleaved with stderr. */
function pickText(output: string, log: string, has: (o: Json) => boolean): string {
  return jsonLines(output).some(has) ? output : log;
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, "");
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

function usageOrNull(usage: Usage): Usage | null {
  return usage.costUsd === null && usage.inputTokens === null && usage.outputTokens === null ? null : usage;
}
