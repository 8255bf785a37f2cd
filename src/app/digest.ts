import { checksLine } from "../domain/task/checks.ts";
import { flagText } from "../domain/task/flags.ts";
import type { TaskResult, TaskStatus, Tier } from "../domain/task/task.ts";
import type { TierChangedData } from "../domain/trust/aggregate.ts";
import { trustNumbersText } from "../domain/trust/trust.ts";
import { describeHold } from "../plan/hold-words.ts";
import { waitsForAPerson, type Hold } from "../plan/holds.ts";
import { loadPlanInput } from "../plan/load.ts";
import { plan } from "../plan/plan.ts";
import type { AppContext } from "./context.ts";

export interface DigestItem {
  id: number;
  title: string;
  agent: string;
  type: string;
  status: TaskStatus;
  tier: Tier | null;
  summary: string | null;
  note: string | null;
  /** The result's checks in a line (`✓ test 41 s · ✗ lint`), and its flags: what the review queue shows beside each. */
  checks?: string | null;
  flags?: string[];
}

export interface Digest {
  since: string;
  at: string;
  done: DigestItem[];
  review: DigestItem[];
  failed: DigestItem[];
  held: DigestItem[];
  trustChanges: { agent: string; type: string; from: Tier; to: Tier; reason: string; at: string; numbers: string }[];
  spotCheck: DigestItem[];
  queue: DigestItem[];
}

/** The digest covers the day before it: what finished in the last 24 hours. */
export const DIGEST_WINDOW_MS = 24 * 3600_000;

export function digestSince(now: Date): string {
  return new Date(now.getTime() - DIGEST_WINDOW_MS).toISOString();
}

/**
 * The morning digest (DESIGN §10) as a view model: what finished since `since`, what waits for review,
 * what failed or is held and why, trust changes, auto-approvals to spot-check, and tonight's queue.
 */
export async function buildDigest(ctx: AppContext, since: string): Promise<Digest> {
  const now = ctx.clock();
  const rows = await ctx.db.query<{
    id: number; title: string; agent: string; type: string; status: TaskStatus; tier: Tier | null; result: string | null;
    auto_approved: string | null; failure: string | null; updated_at: string;
  }>(
    `SELECT id, title, agent, type, status, tier, result, auto_approved, failure, updated_at FROM tasks
     WHERE status IN ('queued', 'dispatched', 'running', 'review') OR updated_at >= ? ORDER BY id`,
    [since],
  );
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
      checks: checksLine(result?.checks),
      flags: (result?.flags ?? []).map(flagText),
    };
  };
  const holds = new Map<number, Hold>();
  for (const d of plan(await loadPlanInput(ctx.db, ctx.config, now, null))) if (d.kind === "hold") holds.set(d.taskId, d);
  const holdWords = (id: number): string | null => {
    const hold = holds.get(id);
    return hold ? describeHold(hold, ctx.config.digest.timezone) : null;
  };
  const events = await ctx.db.query<{ data: string; meta: string }>(
    `SELECT data, meta FROM events WHERE type = 'TierChanged' AND json_extract(meta, '$.at') >= ? ORDER BY position`,
    [since],
  );
  return {
    since,
    at: now.toISOString(),
    done: rows.filter((r) => r.status === "approved").map((r) => item(r, r.auto_approved ? "auto-approved" : null)),
    review: rows.filter((r) => r.status === "review").map((r) => item(r)),
    failed: rows
      .filter((r) => r.status === "failed")
      .map((r) => item(r, r.failure ? (JSON.parse(r.failure) as { detail: string }).detail : null)),
    held: rows
      // Held for a person. Ordinary waiting shows in tonight's queue.
      .filter((r) => r.status === "queued" && waitsForAPerson(holds.get(Number(r.id))))
      .map((r) => item(r, holdWords(Number(r.id)))),
    trustChanges: events.map((e) => {
      const d = JSON.parse(e.data) as TierChangedData;
      return {
        agent: d.agent,
        type: d.type,
        from: d.from,
        to: d.to,
        reason: d.reason,
        at: (JSON.parse(e.meta) as { at: string }).at,
        numbers: trustNumbersText(d),
      };
    }),
    spotCheck: rows
      .filter((r) => r.status === "approved" && r.auto_approved && (JSON.parse(r.auto_approved) as { spotCheck: boolean }).spotCheck)
      .map((r) => item(r)),
    queue: rows.filter((r) => r.status === "queued").map((r) => item(r, holdWords(Number(r.id)) ?? "ready")),
  };
}

/** Plain text for `cos digest` and the demo; chat adapters render the same view model their own way. */
export function digestText(d: Digest): string {
  const lines: string[] = [`Morning digest (since ${d.since.slice(0, 16).replace("T", " ")} UTC)`];
  const section = (title: string, items: DigestItem[], show: (i: DigestItem) => string) => {
    lines.push("", `${title} (${items.length})`);
    if (!items.length) lines.push("  —");
    for (const i of items) lines.push(`  ${show(i)}`);
  };
  const head = (i: DigestItem) => `#${i.id} ${i.title} [${i.agent}, ${i.type}${i.tier ? `, ${i.tier}` : ""}]`;
  section("Done overnight", d.done, (i) => `${head(i)}${i.note ? ` (${i.note})` : ""}`);
  section("Waiting for your review", d.review, (i) => [`${head(i)}: ${firstLine(i.summary)}`, ...reviewFacts(i)].join("\n    "));
  section("Failed or held", [...d.failed, ...d.held], (i) => `${head(i)}: ${i.note ?? i.status}`);
  lines.push("", `Trust changes (${d.trustChanges.length})`);
  if (!d.trustChanges.length) lines.push("  —");
  for (const t of d.trustChanges) lines.push(`  ${t.agent} ${t.type}: ${t.from} → ${t.to} (${t.reason}; ${t.numbers})`);
  section("Auto-approved, worth a spot-check", d.spotCheck, head);
  section("Tonight's queue", d.queue, (i) => `${head(i)}: ${i.note}`);
  return lines.join("\n");
}

/** What the review queue shows under an item: its checks and its flags. */
export function reviewFacts(item: DigestItem): string[] {
  return [...(item.checks ? [item.checks] : []), ...(item.flags ?? [])];
}

function firstLine(text: string | null): string {
  return (text ?? "").split("\n")[0]!.slice(0, 200);
}
