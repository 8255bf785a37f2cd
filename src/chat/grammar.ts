import { TIERS, type Tier } from "../domain/task/task.ts";

// DESIGN §10's command grammar, shared by Telegram and Slack (`/cos task …` there).

export type ChatCommand =
  | {
      name: "task";
      task: {
        title: string;
        description: string;
        type: string | null;
        agent: string | null;
        blockedBy: number[];
        area: string | null;
        goalId: number | null;
        initiativeId: number | null;
        tier: Tier | null;
        project: string | null;
        priority: number | null;
      };
    }
  | { name: "review" | "status" | "queue" | "trust" | "pause" | "resume" | "digest" | "help" }
  | { name: "why" | "cancel" | "retry" | "diff"; id: number }
  | { name: "mode"; mode: "sprint" | "idle" }
  | { name: "tier"; agent: string; type: string; tier: Tier | null }
  | { name: "sendback"; id: number; notes: string };

export type Parsed = { ok: true; command: ChatCommand } | { ok: false; error: string };

export const COMMAND_HELP: [string, string][] = [
  ["task", "queue a task: /task <title> #type @agent after:12 area:blog goal:3 initiative:5 tier:gate project:site prio:2"],
  ["review", "results waiting for review, as cards"],
  ["status", "what runs, waits and is held"],
  ["queue", "the queue in dispatch order"],
  ["why", "why a task is not running: /why 42"],
  ["trust", "trust and tiers per agent and type"],
  ["mode", "cooldown mode: /mode sprint or /mode idle"],
  ["pause", "stop dispatching"],
  ["resume", "start dispatching again"],
  ["digest", "the digest now"],
  ["tier", "pin a tier: /tier @agent type gate (or clear)"],
  ["cancel", "cancel a task: /cancel 42"],
  ["retry", "queue a failed or cancelled task again: /retry 42"],
  ["sendback", "send back with notes: /sendback 42 <notes>"],
  ["diff", "the task's patch as a file: /diff 42"],
  ["help", "this list"],
];

export function parseChatCommand(input: string): Parsed {
  const text = input.replace(/\r\n?/g, "\n").trim();
  const match = /^\/?([a-z]+)(?:@\w+)?(?:[ \t]+([\s\S]*))?$/i.exec(text);
  if (!match) return fail(`"${text.slice(0, 40)}" is not a command; send /help for the list`);
  const name = match[1]!.toLowerCase();
  const rest = (match[2] ?? "").trim();
  const id = () => parseId(rest.split(/\s+/)[0] ?? "", name);
  switch (name) {
    case "task":
      return parseTask(rest);
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
    case "diff": {
      const parsed = id();
      return typeof parsed === "number" ? { ok: true, command: { name, id: parsed } } : fail(parsed);
    }
    case "mode":
      if (rest === "sprint" || rest === "idle") return { ok: true, command: { name: "mode", mode: rest } };
      return fail("usage: /mode sprint or /mode idle");
    case "tier": {
      const [agentToken, type, tier] = rest.split(/\s+/);
      if (!agentToken || !type || !tier) return fail("usage: /tier @agent type auto|quick|gate (or clear)");
      const agent = agentToken.replace(/^@/, "");
      if (tier === "clear" || tier === "none") return { ok: true, command: { name: "tier", agent, type, tier: null } };
      if (!(TIERS as readonly string[]).includes(tier)) return fail(`"${tier}" is not a tier: use auto, quick, gate or clear`);
      return { ok: true, command: { name: "tier", agent, type, tier: tier as Tier } };
    }
    case "sendback": {
      const [first, ...words] = rest.split(/[ \t\n]+/);
      const parsed = parseId(first ?? "", "sendback");
      if (typeof parsed !== "number") return fail(parsed);
      const notes = rest.slice(rest.indexOf(first!) + first!.length).trim();
      if (!notes || !words.length) return fail("usage: /sendback 42 <notes for the agent>");
      return { ok: true, command: { name: "sendback", id: parsed, notes } };
    }
    default:
      return fail(`unknown command /${name}; send /help for the list`);
  }
}

function parseTask(rest: string): Parsed {
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
    const option = /^([a-z]+):(.*)$/i.exec(word);
    if (word.startsWith("#") && word.length > 1 && /^#[a-z][\w-]*$/i.test(word)) task.type = word.slice(1).toLowerCase();
    else if (word.startsWith("@") && /^@[a-z0-9][\w-]*$/i.test(word)) task.agent = word.slice(1);
    else if (option && ["after", "area", "goal", "initiative", "tier", "project", "prio", "priority"].includes(option[1]!.toLowerCase())) {
      const key = option[1]!.toLowerCase();
      const value = option[2]!;
      if (key === "after") {
        const ids = value.split(",").filter(Boolean).map((v) => parseId(v, "after"));
        const bad = ids.find((v) => typeof v !== "number");
        if (bad !== undefined || !ids.length) problems.push(`after:${value} must list task ids, e.g. after:12,13`);
        else task.blockedBy = ids as number[];
      } else if (key === "area") {
        if (value) task.area = value;
        else problems.push("area: needs a name, e.g. area:blog");
      } else if (key === "goal" || key === "initiative") {
        const parsed = parseId(value, key);
        if (typeof parsed !== "number") problems.push(`${key}:${value} must be a number, e.g. ${key}:3`);
        else if (key === "goal") task.goalId = parsed;
        else task.initiativeId = parsed;
      } else if (key === "tier") {
        if ((TIERS as readonly string[]).includes(value)) task.tier = value as Tier;
        else problems.push(`tier:${value} must be auto, quick or gate`);
      } else if (key === "project") {
        if (value) task.project = value;
        else problems.push("project: needs a name");
      } else {
        if (/^-?\d+$/.test(value)) task.priority = Number(value);
        else problems.push(`prio:${value} must be a whole number`);
      }
    } else titleWords.push(word);
  }
  task.title = titleWords.join(" ");
  if (!task.title) problems.push("the task needs a title: /task Add MDX blog #code @builder");
  if (!task.type) problems.push("say the type with #type, e.g. #code, #research or #content");
  if (!task.agent) problems.push("say the agent with @name, e.g. @builder");
  if (problems.length) return fail(problems.join("; "));
  return { ok: true, command: { name: "task", task } };
}

function parseId(value: string, what: string): number | string {
  const text = value.trim().replace(/^#/, "");
  if (/^\d{1,12}$/.test(text) && Number(text) > 0) return Number(text);
  return value ? `"${value}" is not a task id (${what} takes a number such as 42)` : `usage: /${what} 42`;
}

function fail(error: string): Parsed {
  return { ok: false, error };
}
