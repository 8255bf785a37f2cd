import type { Platform } from "../config/platforms.ts";
import { PLATFORM_NAMES } from "../config/platforms.ts";
import type { Database, Tx } from "../store/db.ts";

// People as chats show them: a Telegram first name, a Slack mention, instead of `user:telegram:42`.
// The log keeps only the actor id, which never changes; the name a person goes by is kept apart
// (chat_people), as their last update carried it, and put in when a view shows them. A view model
// marks a person in its text with `personMark`; each platform's renderer turns the mark into its own
// way to name them (Slack a mention, Telegram the name), and plain text gets the name.

export interface Person {
  /** The actor id events record: `user:telegram:42`, `user:slack:U123`, `cli`, `api`, `resolver`. */
  actor: string;
  /** The name the platform last gave for them; null when unknown or not a person. */
  name: string | null;
}

const OPEN = "\uE000";
const SEP = "\uE001";
const CLOSE = "\uE002";
const MARK = /\uE000([^\uE000\uE001\uE002]*)\uE001([^\uE000\uE001\uE002]*)\uE002/g;

/** A person inside a view model's text, for the renderer to name as its platform does. */
export function personMark(person: Person): string {
  return `${OPEN}${person.actor}${SEP}${person.name ?? ""}${CLOSE}`;
}

/** Replaces each person mark in `text` with what `show` makes of them. */
export function showPeople(text: string, show: (person: Person) => string): string {
  return text.includes(OPEN) ? text.replace(MARK, (_, actor: string, name: string) => show({ actor, name: name || null })) : text;
}

/** The user id of a platform's actor (`user:slack:U123` → U123), or null. */
export function platformUser(actor: string, platform: Platform): string | null {
  const prefix = `user:${platform}:`;
  return actor.startsWith(prefix) ? actor.slice(prefix.length) : null;
}

const TITLES: Record<Platform, string> = { telegram: "Telegram", slack: "Slack" };

/** A person in plain words: their name, else who they are (`Telegram user 42`, `the CLI`). */
export function plainName(person: Person): string {
  if (person.name) return person.name;
  for (const platform of PLATFORM_NAMES) {
    const id = platformUser(person.actor, platform);
    if (id !== null) return `${TITLES[platform]} user ${id}`;
  }
  if (person.actor === "cli") return "the CLI";
  if (person.actor === "api") return "the API";
  if (person.actor === "resolver") return "the resolver";
  // A verdict given on a review page through its link alone (src/pages/telegram-access.ts).
  if (person.actor === "page") return "the review page";
  if (person.actor.startsWith("runner:")) return `runner ${person.actor.slice("runner:".length)}`;
  if (person.actor.startsWith("agent:")) return `agent ${person.actor.slice("agent:".length)}`;
  return person.actor;
}

/** Text with every mark as a plain name: for the CLI and for places that cannot mention. */
export const plainPeople = (text: string) => showPeople(text, plainName);

/** Remembers the name a platform gave for a user, writing only when it changed. */
export async function rememberName(db: Database, platform: Platform, userId: string, name: string, at: string): Promise<void> {
  const clean = name.replace(/[\u0000-\u001f\u007f\uE000-\uE002]/g, "").trim().slice(0, 64);
  if (!clean) return;
  await db.write((tx) =>
    tx.execute({
      sql: `INSERT INTO chat_people (platform, user_id, name, seen_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (platform, user_id) DO UPDATE SET name = excluded.name, seen_at = excluded.seen_at WHERE name <> excluded.name`,
      args: [platform, userId, clean, at],
    }),
  );
}

/** Looks up the people of these actors, each once. */
export async function peopleOf(db: Pick<Tx, "execute">, actors: Iterable<string>): Promise<Map<string, Person>> {
  const out = new Map<string, Person>();
  for (const actor of new Set(actors)) {
    let name: string | null = null;
    for (const platform of PLATFORM_NAMES) {
      const id = platformUser(actor, platform);
      if (id === null) continue;
      const rows = await db.execute({ sql: "SELECT name FROM chat_people WHERE platform = ? AND user_id = ?", args: [platform, id] });
      name = rows.rows[0] ? String(rows.rows[0].name) : null;
    }
    out.set(actor, { actor, name });
  }
  return out;
}

/** Marks every actor id in an activity line (`approved by user:telegram:42`) with its person. */
export function markActors(text: string, people: Map<string, Person>): string {
  return text.replace(/\buser:[a-z]+:[\w.-]+/g, (actor) => (people.has(actor) ? personMark(people.get(actor)!) : actor));
}

/** The actor ids an activity line names. */
export function actorsIn(text: string): string[] {
  return text.match(/\buser:[a-z]+:[\w.-]+/g) ?? [];
}

/**
 * Remembers the names a platform gives with each update, writing only when one is new or changed
 * (one write per person and process, not one per update).
 */
export class NameBook {
  private readonly known = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly platform: Platform,
    private readonly clock: () => Date,
  ) {}

  async remember(userId: string, name: string | null | undefined): Promise<void> {
    if (!name || this.known.get(userId) === name) return;
    await rememberName(this.db, this.platform, userId, name, this.clock().toISOString());
    this.known.set(userId, name);
  }
}
