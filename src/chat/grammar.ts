import { TIERS, type Tier } from "../domain/task/task.ts";
import { nearest } from "../shared/nearest.ts";

// DESIGN §10's command grammar, shared by Telegram and Slack. A person types a verb behind their
// platform's prefix (`/status` in Telegram, `/cos status` in Slack) or, in a direct message, the verb
// alone (`status`). Text whose first word is no verb is not a command at all: it gets help, not
// "unknown command /hello". Usage lines and suggestions are written with the platform's prefix.

export type TaskOptions = {
  blockedBy: number[];
  area: string | null;
  goalId: number | null;
  initiativeId: number | null;
  tier: Tier | null;
  project: string | null;
  priority: number | null;
};

export type ChatCommand =
  | {
      name: "task";
      task: TaskOptions & { title: string; description: string; type: string | null; agent: string | null };
    }
  | { name: "review" | "status" | "queue" | "trust" | "pause" | "resume" | "digest" | "help" }
  | { name: "why" | "cancel" | "retry" | "diff" | "show"; id: number }
  | { name: "mode"; mode: "sprint" | "idle" | null }
  | { name: "tier"; agent: string; type: string; tier: Tier | null }
  /** Notes null: ask for them. */
  | { name: "sendback"; id: number; notes: string | null }
  /** `/after 9 12,13` or `/after 9 none`. */
  | { name: "after"; id: number; blockedBy: number[] }
  /** `/edit 9 prio:3 area:blog after:12 agent:writer tier:gate`; `none` clears area, blockers and tier. */
  | {
      name: "edit";
      id: number;
      changes: { blockedBy?: number[]; priority?: number; area?: string | null; agent?: string; tier?: Tier | null };
    };

export type Parsed =
  | { ok: true; command: ChatCommand }
  | { ok: false; error: string }
  /** Free text whose first word is no verb: the person is talking, not commanding. */
  | { ok: false; notCommand: true; error: string };

/** Every verb with its arguments and what it does, in the order `/help` lists them. */
export const COMMAND_HELP: [name: string, args: string, what: string][] = [
  ["task", "<title> #type @agent after:12 area:blog goal:3 initiative:5 tier:gate project:site prio:2", "queue a task (further lines: its description)"],
  ["review", "", "results waiting for review, as cards"],
  ["status", "", "paused or not, the mode, what runs and waits, the next digest"],
  ["queue", "", "the queue in dispatch order, with why each waits"],
  ["why", "42", "why a task is not running"],
  ["show", "42", "a task whole: its result, its failure, its activity"],
  ["after", "42 12,13", "change a task's blockers (none: no blockers)"],
  ["edit", "42 prio:3 area:blog", "change a queued task: after: area: agent: tier: prio:"],
  ["sendback", "42 <notes>", "send back with notes (without notes: asks for them)"],
  ["cancel", "42", "cancel a task, stopping its run"],
  ["retry", "42", "queue a failed or cancelled task again"],
  ["diff", "42", "the task's patch as a file"],
  ["trust", "", "trust and tiers per agent and type"],
  ["tier", "@agent type gate", "pin a tier (or clear)"],
  ["mode", "sprint", "the cooldown mode: sprint or idle (alone: shows it)"],
  ["pause", "", "stop dispatching"],
  ["resume", "", "start dispatching again"],
  ["digest", "", "the digest now"],
  ["help", "", "this list"],
];

export const VERBS: readonly string[] = COMMAND_HELP.map(([name]) => name);

const TASK_KEYS = ["after", "area", "goal", "initiative", "tier", "project", "prio", "priority"];
const EDIT_KEYS = ["after", "area", "agent", "tier", "prio", "priority"];

/** Parses a message; `prefix` is how the platform writes a command (`/` or `/cos `), for usage lines. */
export function parseChatCommand(input: string, prefix = "/"): Parsed {
  const text = input.replace(/\r\n?/g, "\n").trim();
  const slashed = text.startsWith("/");
  const match = /^\/?([a-z]+)(?:@\w+)?(?:[ \t\n]+([\s\S]*))?$/i.exec(text);
  const word = match?.[1]?.toLowerCase() ?? null;
  const verb = (name: string, args = "") => `${prefix}${name}${args ? ` ${args}` : ""}`;
  if (!word || (!VERBS.includes(word) && word !== "start")) {
    const guess = word ? nearest(word, VERBS) : null;
    const suggestion = guess ? `did you mean ${verb(guess)}? ` : "";
    if (slashed && word) return fail(`unknown command ${verb(word)}; ${suggestion}send ${verb("help")} for the list`);
    return { ok: false, notCommand: true, error: `${suggestion}send ${verb("help")} for the commands` };
  }
  const name = word;
  const rest = (match?.[2] ?? "").trim();
  const id = (what = name) => parseId(rest.split(/\s+/)[0] ?? "", what, verb);
  switch (name) {
    case "task":
      return parseTask(rest, verb);
    case "review":
    case "status":
    case "queue":
    case "trust":
    case "pause":
    case "resume":
    case "digest":
    case "help":
    case "start":
      return { ok: true, command: { name: name === "start" ? "help" : name } };
    case "why":
    case "cancel":
    case "retry":
    case "diff":
    case "show": {
      const parsed = id();
      return typeof parsed === "number" ? { ok: true, command: { name, id: parsed } } : fail(parsed);
    }
    case "mode":
      if (!rest) return { ok: true, command: { name: "mode", mode: null } };
      if (rest === "sprint" || rest === "idle") return { ok: true, command: { name: "mode", mode: rest } };
      return fail(`usage: ${verb("mode", "sprint")} or ${verb("mode", "idle")} (${verb("mode")} alone shows it)`);
    case "tier": {
      const [agentToken, type, tier] = rest.split(/\s+/);
      if (!agentToken || !type || !tier) return fail(`usage: ${verb("tier", "@agent type auto|quick|gate")} (or clear)`);
      const agent = agentToken.replace(/^@/, "");
      if (tier === "clear" || tier === "none") return { ok: true, command: { name: "tier", agent, type, tier: null } };
      if (!(TIERS as readonly string[]).includes(tier)) return fail(`"${tier}" is not a tier: use auto, quick, gate or clear`);
      return { ok: true, command: { name: "tier", agent, type, tier: tier as Tier } };
    }
    case "sendback": {
      const [first = ""] = rest.split(/[ \t\n]+/);
      const parsed = parseId(first, "sendback", verb);
      if (typeof parsed !== "number") return fail(`${parsed}: ${verb("sendback", "42 <notes for the agent>")}`);
      const notes = rest.slice(rest.indexOf(first) + first.length).trim();
      return { ok: true, command: { name: "sendback", id: parsed, notes: notes || null } };
    }
    case "after": {
      const [first = "", list = "", ...more] = rest.split(/\s+/);
      const parsed = parseId(first, "after", verb);
      const usage = `usage: ${verb("after", "42 12,13")} or ${verb("after", "42 none")}`;
      if (typeof parsed !== "number" || !list || more.length) return fail(typeof parsed === "number" ? usage : `${parsed}; ${usage}`);
      const blockers = parseBlockers(list, verb);
      return typeof blockers === "string" ? fail(blockers) : { ok: true, command: { name: "after", id: parsed, blockedBy: blockers } };
    }
    case "edit":
      return parseEdit(rest, verb);
    default:
      return fail(`unknown command ${verb(name)}; send ${verb("help")} for the list`);
  }
}

type Verb = (name: string, args?: string) => string;

/** A `key:value` word, or null for a word that is not one (a URL, a colon in prose, a time). */
function optionOf(word: string): { key: string; value: string } | null {
  const m = /^([a-z]+):(.+)$/i.exec(word);
  if (!m || m[2]!.startsWith("//")) return null;
  return { key: m[1]!.toLowerCase(), value: m[2]! };
}

function unknownOption(key: string, known: string[], verb: Verb, what: string): string {
  const guess = nearest(key, known);
  return `${key}: is not an option of ${verb(what)}${guess ? ` (did you mean ${guess}:?)` : ""}; its options are ${known.filter((k) => k !== "priority").map((k) => `${k}:`).join(" ")}. Words with a colon that belong to the text go on the next line, as the description`;
}

function parseTask(rest: string, verb: Verb): Parsed {
  const [firstLine = "", ...more] = rest.split("\n");
  const task: Extract<ChatCommand, { name: "task" }>["task"] = {
    title: "",
    description: more.join("\n").trim(),
    type: null,
    agent: null,
    blockedBy: [],
    area: null,
    goalId: null,
    initiativeId: null,
    tier: null,
    project: null,
    priority: null,
  };
  const titleWords: string[] = [];
  const problems: string[] = [];
  for (const word of firstLine.split(/\s+/).filter(Boolean)) {
    const option = optionOf(word);
    if (word.startsWith("#") && word.length > 1 && /^#[a-z][\w-]*$/i.test(word)) task.type = word.slice(1).toLowerCase();
    else if (word.startsWith("@") && /^@[a-z0-9][\w-]*$/i.test(word)) task.agent = word.slice(1);
    else if (option && TASK_KEYS.includes(option.key)) {
      const { key, value } = option;
      if (key === "after") {
        const ids = parseBlockers(value, verb);
        if (typeof ids === "string") problems.push(`after:${value} must list task ids, e.g. after:12,13`);
        else task.blockedBy = ids;
      } else if (key === "area") {
        task.area = value;
      } else if (key === "goal" || key === "initiative") {
        const parsed = parseId(value, key, verb);
        if (typeof parsed !== "number") problems.push(`${key}:${value} must be a number, e.g. ${key}:3`);
        else if (key === "goal") task.goalId = parsed;
        else task.initiativeId = parsed;
      } else if (key === "tier") {
        if ((TIERS as readonly string[]).includes(value)) task.tier = value as Tier;
        else problems.push(`tier:${value} must be auto, quick or gate`);
      } else if (key === "project") {
        task.project = value;
      } else {
        if (/^-?\d+$/.test(value)) task.priority = Number(value);
        else problems.push(`prio:${value} must be a whole number`);
      }
    } else if (option) problems.push(unknownOption(option.key, TASK_KEYS, verb, "task"));
    else if (/^[a-z]+:$/i.test(word) && TASK_KEYS.includes(word.slice(0, -1).toLowerCase())) problems.push(`${word} needs a value, e.g. ${word}${word.startsWith("after") ? "12" : "blog"}`);
    else titleWords.push(word);
  }
  task.title = titleWords.join(" ");
  if (!task.title) problems.push(`the task needs a title: ${verb("task", "Add MDX blog #code @builder")}`);
  if (!task.type) problems.push("say the type with #type, e.g. #code, #research or #content");
  if (!task.agent) problems.push("say the agent with @name, e.g. @builder");
  if (problems.length) return fail(problems.join("; "));
  return { ok: true, command: { name: "task", task } };
}

function parseEdit(rest: string, verb: Verb): Parsed {
  const [first = "", ...words] = rest.split(/\s+/).filter(Boolean);
  const id = parseId(first, "edit", verb);
  const usage = `usage: ${verb("edit", "42 prio:3 area:blog after:12,13 agent:writer tier:gate")} (none clears area, after and tier)`;
  if (typeof id !== "number") return fail(`${id}; ${usage}`);
  if (!words.length) return fail(`nothing to change; ${usage}`);
  const changes: Extract<ChatCommand, { name: "edit" }>["changes"] = {};
  const problems: string[] = [];
  for (const word of words) {
    const option = word.startsWith("@") ? { key: "agent", value: word.slice(1) } : optionOf(word);
    if (!option) {
      problems.push(`"${word}" is not a change; ${usage}`);
      continue;
    }
    const { key, value } = option;
    if (!EDIT_KEYS.includes(key)) problems.push(unknownOption(key, EDIT_KEYS, verb, "edit"));
    else if (key === "after") {
      const ids = parseBlockers(value, verb);
      if (typeof ids === "string") problems.push(ids);
      else changes.blockedBy = ids;
    } else if (key === "area") changes.area = value === "none" ? null : value;
    else if (key === "agent") changes.agent = value.replace(/^@/, "");
    else if (key === "tier") {
      if (value === "none" || value === "clear") changes.tier = null;
      else if ((TIERS as readonly string[]).includes(value)) changes.tier = value as Tier;
      else problems.push(`tier:${value} must be auto, quick, gate or none`);
    } else if (/^-?\d+$/.test(value)) changes.priority = Number(value);
    else problems.push(`prio:${value} must be a whole number`);
  }
  if (problems.length) return fail(problems.join("; "));
  return { ok: true, command: { name: "edit", id, changes } };
}

/** `12,13` or `none` (no blockers). */
function parseBlockers(value: string, verb: Verb): number[] | string {
  if (value === "none") return [];
  const ids = value.split(",").filter(Boolean).map((v) => parseId(v, "after", verb));
  const bad = ids.find((v) => typeof v !== "number");
  if (bad !== undefined || !ids.length) return `"${value}" must list task ids such as 12,13, or be none`;
  return ids as number[];
}

function parseId(value: string, what: string, verb: Verb): number | string {
  const text = value.trim().replace(/^#/, "");
  if (/^\d{1,12}$/.test(text) && Number(text) > 0) return Number(text);
  return value ? `"${value}" is not a task id (${what} takes a number such as 42)` : `usage: ${verb(what, "42")}`;
}

function fail(error: string): Parsed {
  return { ok: false, error };
}
