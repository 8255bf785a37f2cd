import { PLATFORMS, type Platform } from "../config/platforms.ts";
import type { CosError, WayOut } from "./errors.ts";

// The ways out a message offers ("cancel it", "change its blockers", "resume"), written as the command a
// person types where they read it: `cos task edit 9 --after none` in a terminal, `/after 9 none` in
// Telegram, `/cos after 9 none` in Slack. Always with the real ids, never a placeholder such as ID.

/** Where a text is read: the CLI, or a chat platform of the registry. */
export type Surface = "cli" | Platform;

export interface Hints {
  surface: Surface;
  cancel(id: number): string;
  /** Change a task's blockers: `ids` such as "12,13", or "none". */
  after(id: number, ids: string): string;
  retry(id: number): string;
  why(id: number): string;
  /** The whole task: its result, failure and activity. */
  show(id: number): string;
  diff(id: number): string;
  sendBack(id: number): string;
  resume(): string;
  status(): string;
  /** What waits for review. */
  review(): string;
  help(): string;
  /** A command by its chat verb and arguments; the CLI has no such form, so it gets the chat one. */
  verb(name: string, args?: string): string;
}

const CLI: Hints = {
  surface: "cli",
  cancel: (id) => `cos task cancel ${id}`,
  after: (id, ids) => `cos task edit ${id} --after ${ids}`,
  retry: (id) => `cos task retry ${id}`,
  why: (id) => `cos why ${id}`,
  show: (id) => `cos task show ${id}`,
  diff: (id) => `git diff main...cos/task-${id}`,
  sendBack: (id) => `cos verdict ${id} send-back --note "…"`,
  resume: () => "cos resume",
  status: () => "cos status",
  review: () => "cos task list --status review",
  help: () => "cos help",
  verb: (name, args) => `/${name}${args ? ` ${args}` : ""}`,
};

function chatHints(platform: Platform): Hints {
  const verb = (name: string, args?: string) => `${PLATFORMS[platform].commandPrefix}${name}${args ? ` ${args}` : ""}`;
  return {
    surface: platform,
    cancel: (id) => verb("cancel", String(id)),
    after: (id, ids) => verb("after", `${id} ${ids}`),
    retry: (id) => verb("retry", String(id)),
    why: (id) => verb("why", String(id)),
    show: (id) => verb("show", String(id)),
    diff: (id) => verb("diff", String(id)),
    sendBack: (id) => verb("sendback", `${id} <notes>`),
    resume: () => verb("resume"),
    status: () => verb("status"),
    review: () => verb("review"),
    help: () => verb("help"),
    verb,
  };
}

export function hintsFor(surface: Surface): Hints {
  return surface === "cli" ? CLI : chatHints(surface);
}

/** An error's message with its way out written for where it is read. */
export function errorText(error: CosError, hints: Hints): string {
  if (!error.way || hints.surface === "cli") return error.message;
  const ways: Record<WayOut, string> = {
    "list-tasks": `${hints.status()} shows the open tasks`,
    resume: `${hints.resume()} starts it again`,
  };
  return `${error.bare} (${ways[error.way]})`;
}
