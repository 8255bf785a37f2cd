import { peopleOf, personMark, type Person } from "./people.ts";
import type { TextBlock } from "./text.ts";
import type { Mode } from "../domain/settings/settings.ts";
import { formatTime } from "../shared/zoned-time.ts";
import { describeHold } from "../plan/hold-words.ts";
import { loadPlanInput } from "../plan/load.ts";
import { plan } from "../plan/plan.ts";
import type { Hints } from "../shared/hints.ts";
import { nextDigestTime } from "./digest-time.ts";
import type { AppContext } from "./context.ts";
import { durationWords } from "./run-words.ts";
import { loadSettings } from "./settings.ts";
import { listTasks } from "./views.ts";

// Where things stand (`/status`, `cos status`): paused or not and why, the mode, what runs and for how
// long, what waits and the first reason, what waits for review, and when the next digest comes.

export interface ActiveRun {
  id: number;
  title: string;
  agent: string;
  attempt: number;
  status: "dispatched" | "running";
  runner: string | null;
  /** When it started running (or was dispatched, while no runner has claimed it). */
  since: string;
  forMs: number;
}

export interface StatusView {
  at: string;
  paused: { reason: string | null; by: Person | null; since: string | null } | null;
  mode: Mode;
  cooldownMinutes: number;
  active: ActiveRun[];
  review: number;
  queued: number;
  /** The queued tasks in dispatch order (the first few), each with the first thing it waits for. */
  waiting: { id: number; title: string; agent: string; why: string }[];
  /** When the next digest is due (ISO); null when the cron does not fire within a week. */
  nextDigest: string | null;
}

const WAITING_SHOWN = 5;

export async function statusView(ctx: AppContext, hints: Hints): Promise<StatusView> {
  const now = ctx.clock();
  const { state: settings } = await loadSettings(ctx);
  let paused: StatusView["paused"] = null;
  if (settings.paused) {
    const rows = await ctx.db.query<{ meta: string }>(
      "SELECT meta FROM events WHERE stream = 'settings' AND type = 'ResolverPaused' ORDER BY position DESC LIMIT 1",
    );
    const actor = rows[0] ? (JSON.parse(rows[0].meta) as { actor: string }).actor : null;
    paused = { reason: settings.pausedReason, by: actor ? (await peopleOf(ctx.db, [actor])).get(actor)! : null, since: settings.updatedAt };
  }
  const open = await listTasks(ctx, "open", hints);
  const activeRows = await ctx.db.query<{ id: number; status: "dispatched" | "running"; runner: string | null; dispatched_at: string; attempt: number }>(
    "SELECT id, status, runner, dispatched_at, attempt FROM tasks WHERE status IN ('dispatched', 'running') ORDER BY dispatched_at, id",
  );
  const byId = new Map(open.map((t) => [t.id, t]));
  const active: ActiveRun[] = [];
  for (const row of activeRows) {
    const task = byId.get(Number(row.id));
    if (!task) continue;
    // A run's start is in its TaskStarted; the row has when it was dispatched.
    const started = row.status === "running" ? await startedAt(ctx, Number(row.id)) : null;
    const since = started ?? String(row.dispatched_at);
    active.push({
      id: task.id,
      title: task.title,
      agent: task.agent,
      attempt: Number(row.attempt),
      status: row.status,
      runner: row.runner,
      since,
      forMs: Math.max(0, now.getTime() - Date.parse(since)),
    });
  }
  const decisions = plan(await loadPlanInput(ctx.db, ctx.config, now, null));
  const queued = open.filter((t) => t.status === "queued").sort((a, b) => b.priority - a.priority || a.id - b.id);
  const waiting = queued.slice(0, WAITING_SHOWN).map((t) => {
    const decision = decisions.find((d) => (d.kind === "hold" || d.kind === "dispatch") && d.taskId === t.id);
    const why =
      decision?.kind === "hold"
        ? describeHold(decision, ctx.config.digest.timezone, hints)
        : decision?.kind === "dispatch"
          ? "ready: the next pass dispatches it"
          : "queued";
    return { id: t.id, title: t.title, agent: t.agent, why };
  });
  const next = nextDigestTime(ctx, now);
  return {
    at: now.toISOString(),
    paused,
    mode: settings.mode,
    cooldownMinutes: ctx.config.resolver.cooldownMinutes[settings.mode],
    active,
    review: open.filter((t) => t.status === "review").length,
    queued: queued.length,
    waiting,
    nextDigest: next ? next.toISOString() : null,
  };
}

async function startedAt(ctx: AppContext, id: number): Promise<string | null> {
  const rows = await ctx.db.query<{ meta: string }>(
    "SELECT meta FROM events WHERE stream = ? AND type = 'TaskStarted' ORDER BY version DESC LIMIT 1",
    [`task-${id}`],
  );
  return rows[0] ? (JSON.parse(rows[0].meta) as { at: string }).at : null;
}

/** The status in words, the same in chat and in the terminal; `hints` write its ways out for where it is read. */
export function statusBlock(v: StatusView, hints: Hints, timeZone: string): TextBlock {
  const lines: string[] = [];
  if (v.paused) {
    const by = v.paused.by ? ` by ${personMark(v.paused.by)}` : "";
    const since = v.paused.since ? ` since ${formatTime(v.paused.since, timeZone)}` : "";
    lines.push(`⏸ Paused${by}${since}${v.paused.reason ? `: ${v.paused.reason}` : ""}. Nothing new is dispatched until ${hints.resume()}.`);
  } else {
    lines.push("▶️ Not paused: ready tasks are dispatched.");
  }
  lines.push(`Mode: ${v.mode} (an agent waits ${v.cooldownMinutes} min after finishing a task before the next of the same goal).`);
  const running = v.active.filter((r) => r.status === "running");
  const dispatched = v.active.filter((r) => r.status === "dispatched");
  lines.push(running.length ? `Running (${running.length}):` : "Running: nothing.");
  for (const r of running) lines.push(`  #${r.id} ${r.title} [${r.agent}], attempt ${r.attempt}${r.runner ? ` on ${r.runner}` : ""}, for ${durationWords(r.forMs)}`);
  if (dispatched.length) {
    lines.push(`Dispatched, waiting for a runner (${dispatched.length}):`);
    for (const r of dispatched) lines.push(`  #${r.id} ${r.title} [${r.agent}], for ${durationWords(r.forMs)}`);
  }
  lines.push(`In review: ${v.review}${v.review ? ` (${hints.review()} shows them)` : ""}.`);
  lines.push(v.queued ? `Queued (${v.queued})${v.queued > v.waiting.length ? `, the first ${v.waiting.length}` : ""}:` : "Queued: nothing.");
  for (const w of v.waiting) lines.push(`  #${w.id} ${w.title} [${w.agent}]: ${w.why}`);
  lines.push(v.nextDigest ? `Next digest: ${formatTime(v.nextDigest, timeZone)}.` : "Next digest: none within a week (digest.cron).");
  return { title: v.paused ? "Status: paused" : "Status", lines };
}
