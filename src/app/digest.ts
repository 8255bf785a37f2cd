import { checksLine } from "../domain/task/checks.ts";
import { flagText } from "../domain/task/flags.ts";
import { peopleOf, personMark, plainPeople, type Person } from "./people.ts";
import type { TextBlock } from "./text.ts";
import type { FailureOutput, TaskResult, TaskStatus, Tier } from "../domain/task/task.ts";
import type { TierChangedData } from "../domain/trust/aggregate.ts";
import { trustNumbersText } from "../domain/trust/trust.ts";
import { describeHold } from "../plan/hold-words.ts";
import { waitsForAPerson } from "../plan/holds.ts";
import { loadPlanInput } from "../plan/load.ts";
import { plan, type PlanDecision } from "../plan/plan.ts";
import { hintsFor, type Hints } from "../shared/hints.ts";
import type { AppContext } from "./context.ts";

export interface DigestItem {
  id: number;
  title: string;
  agent: string;
  type: string;
  status: TaskStatus;
  tier: Tier | null;
  summary: string | null;
  /** What to say after the item: who decided it, why it failed or waits. */
  note: string | null;
  /** The result's checks in a line (`✓ test 41 s · ✗ lint`), and its flags: what the review queue shows under each. */
  checks?: string | null;
  flags?: string[];
  /** A failed run's last lines and where its log is. */
  failure: ({ detail: string; attempt: number } & FailureOutput) | null;
}

/** A tier change as the digest tells it: its event's facts (`pin` null for a cleared pin), who, when, the numbers in words. */
export interface DigestTrustChange extends Pick<TierChangedData, "agent" | "type" | "from" | "to" | "reason" | "pin"> {
  by: Person;
  at: string;
  numbers: string;
}

export interface Digest {
  since: string;
  at: string;
  /** The day it is for, in the digest's timezone: `Tue 24 Nov 2026`. */
  day: string;
  done: DigestItem[];
  review: DigestItem[];
  failed: DigestItem[];
  held: DigestItem[];
  /** Discarded or cancelled since `since`. */
  dropped: DigestItem[];
  trustChanges: DigestTrustChange[];
  spotCheck: DigestItem[];
  queue: DigestItem[];
}

/** The digest covers the day before it: what finished in the last 24 hours. */
export const DIGEST_WINDOW_MS = 24 * 3600_000;

export function digestSince(now: Date): string {
  return new Date(now.getTime() - DIGEST_WINDOW_MS).toISOString();
}

/** A date as the digest's heading says it, in its timezone: `Tue 24 Nov 2026`. */
export function digestDay(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone, weekday: "short", day: "numeric", month: "short", year: "numeric" }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("weekday")} ${get("day")} ${get("month")} ${get("year")}`;
}

/**
 * The morning digest (DESIGN §10) as a view model: what finished since `since`, what waits for review,
 * what failed or is held and why, what was discarded or cancelled, trust changes, auto-approvals to
 * spot-check, and tonight's queue. Each task is in one section only.
 */
export async function buildDigest(ctx: AppContext, since: string, hints: Hints = hintsFor("cli")): Promise<Digest> {
  const now = ctx.clock();
  const rows = await ctx.db.query<{
    id: number; title: string; agent: string; type: string; status: TaskStatus; tier: Tier | null; result: string | null;
    auto_approved: string | null; failure: string | null; cancel_reason: string | null; updated_at: string; decided_by: string | null;
  }>(
    `SELECT id, title, agent, type, status, tier, result, auto_approved, failure, cancel_reason, updated_at,
            (SELECT v.by FROM verdicts v WHERE v.task_id = tasks.id ORDER BY v.seq DESC LIMIT 1) AS decided_by
     FROM tasks
     WHERE status IN ('queued', 'dispatched', 'running', 'review') OR updated_at >= ? ORDER BY id`,
    [since],
  );
  const people = await peopleOf(ctx.db, rows.flatMap((r) => (r.decided_by ? [r.decided_by] : [])));
  const by = (actor: string | null) => (actor ? personMark(people.get(actor)!) : "someone");
  const item = (r: (typeof rows)[number], note: string | null = null): DigestItem => {
    const result = r.result ? (JSON.parse(r.result) as TaskResult) : null;
    return {
      id: Number(r.id),
      title: r.title,
      agent: r.agent,
      type: r.type,
      status: r.status,
      tier: r.tier,
      summary: result?.summary ?? null,
      note,
      failure: r.status === "failed" && r.failure ? (JSON.parse(r.failure) as DigestItem["failure"]) : null,
      checks: checksLine(result?.checks),
      flags: (result?.flags ?? []).map(flagText),
    };
  };
  const holds = new Map<number, Extract<PlanDecision, { kind: "hold" }>>();
  for (const d of plan(await loadPlanInput(ctx.db, ctx.config, now, null))) if (d.kind === "hold") holds.set(d.taskId, d);
  const holdWords = (id: number): string | null => {
    const hold = holds.get(id);
    return hold ? describeHold(hold, ctx.config.digest.timezone, hints) : null;
  };
  const autoApproval = (r: (typeof rows)[number]) => (r.auto_approved ? (JSON.parse(r.auto_approved) as { spotCheck: boolean }) : null);
  const events = await ctx.db.query<{ data: string; meta: string }>(
    `SELECT data, meta FROM events WHERE type = 'TierChanged' AND json_extract(meta, '$.at') >= ? ORDER BY position`,
    [since],
  );
  const changers = await peopleOf(ctx.db, events.map((e) => (JSON.parse(e.meta) as { actor: string }).actor));
  const heldForAPerson = (r: (typeof rows)[number]) => r.status === "queued" && waitsForAPerson(holds.get(Number(r.id)));
  return {
    since,
    at: now.toISOString(),
    day: digestDay(now, ctx.config.digest.timezone),
    done: rows
      .filter((r) => r.status === "approved" && !autoApproval(r)?.spotCheck)
      .map((r) => item(r, autoApproval(r) ? "approved on its own" : `approved by ${by(r.decided_by)}`)),
    review: rows.filter((r) => r.status === "review").map((r) => item(r)),
    failed: rows.filter((r) => r.status === "failed").map((r) => item(r, r.failure ? (JSON.parse(r.failure) as { detail: string }).detail : null)),
    held: rows.filter(heldForAPerson).map((r) => item(r, holdWords(Number(r.id)))),
    dropped: rows
      .filter((r) => r.status === "discarded" || r.status === "cancelled")
      .map((r) =>
        item(r, r.status === "discarded" ? `discarded by ${by(r.decided_by)}` : `cancelled${r.cancel_reason ? `: ${r.cancel_reason}` : ""}`),
      ),
    trustChanges: events.map((e) => {
      const d = JSON.parse(e.data) as TierChangedData;
      const meta = JSON.parse(e.meta) as { at: string; actor: string };
      return {
        agent: d.agent,
        type: d.type,
        from: d.from,
        to: d.to,
        reason: d.reason,
        pin: d.pin,
        by: changers.get(meta.actor)!,
        at: meta.at,
        numbers: trustNumbersText(d),
      };
    }),
    spotCheck: rows.filter((r) => r.status === "approved" && autoApproval(r)?.spotCheck).map((r) => item(r)),
    queue: rows.filter((r) => r.status === "queued" && !heldForAPerson(r)).map((r) => item(r, holdWords(Number(r.id)) ?? "ready")),
  };
}

/** The digest's heading, with its day. */
export function digestHeading(d: Pick<Digest, "day">): string {
  return `☀️ Digest for ${d.day}`;
}

/** A trust change in words: a pin is a person's choice, so it says who and not the numbers. */
export function trustChangeWords(t: Pick<DigestTrustChange, "from" | "to" | "reason" | "pin" | "by" | "numbers">): string {
  if (t.reason === "trust") return `${t.from} → ${t.to} by trust (${t.numbers})`;
  return t.pin ? `${t.from} → ${t.to}: pinned by ${personMark(t.by)}` : `${t.from} → ${t.to}: pin cleared by ${personMark(t.by)}; trust decides again`;
}

/**
 * The digest's sections, the same on every surface (Telegram, Slack, `cos digest`): each a title with
 * its count and one line per task. People are marked for the surface to name them.
 */
export function digestBlocks(d: Digest): TextBlock[] {
  const head = (i: DigestItem) => `#${i.id} ${i.title} [${i.agent} · ${i.type}]`;
  const section = (title: string, items: string[]): TextBlock => ({ title: `${title} (${items.length})`, lines: items.length ? items : ["—"] });
  const failedLines = (i: DigestItem) => {
    const last = i.failure?.tail?.at(-1);
    return `${head(i)}: ${i.note ?? i.status}${last ? ` — "${last}"` : ""}`;
  };
  return [
    section("Done overnight", d.done.map((i) => `${head(i)}${i.note ? ` (${i.note})` : ""}`)),
    section("Waiting for your review", d.review.map((i) => [`${head(i)}: ${firstLine(i.summary)}`, ...reviewFacts(i)].join("\n   "))),
    section("Failed or held", [...d.failed.map(failedLines), ...d.held.map((i) => `${head(i)}: ${i.note ?? i.status}`)]),
    section("Discarded or cancelled", d.dropped.map((i) => `${head(i)}${i.note ? ` (${i.note})` : ""}`)),
    section("Trust changes", d.trustChanges.map((t) => `${t.agent} ${t.type}: ${trustChangeWords(t)}`)),
    section("Auto-approved, worth a spot-check", d.spotCheck.map(head)),
    section("Tonight's queue", d.queue.map((i) => `${head(i)}: ${i.note}`)),
  ];
}

/** Plain text for `cos digest` and the demo: the chat's heading and sections, people by name. */
export function digestText(d: Digest): string {
  const lines = [digestHeading(d)];
  for (const block of digestBlocks(d)) lines.push("", block.title ?? "", ...block.lines.map((l) => `  ${l}`));
  return plainPeople(lines.join("\n"));
}

/** What the review queue shows under an item: its checks and its flags. */
export function reviewFacts(item: DigestItem): string[] {
  return [...(item.checks ? [item.checks] : []), ...(item.flags ?? [])];
}

function firstLine(text: string | null): string {
  return (text ?? "").split("\n")[0]!.slice(0, 200);
}
