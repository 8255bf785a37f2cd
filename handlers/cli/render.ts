import type { StoredEvent } from "../../src/store/event-store.ts";
import type { TaskListItem, TaskView, listGoals, listInitiatives } from "../../src/app/views.ts";
import type { TrustRow } from "../../src/app/trust.ts";
import { checkRateText } from "../../src/app/check-rate.ts";
import { percent } from "../../src/domain/trust/trust.ts";
import { checksReport } from "../../src/domain/task/checks.ts";
import { logLine, tailLines } from "../../src/app/run-words.ts";
import type { PassReport } from "../../resolver/pass.ts";

type GoalListItem = Awaited<ReturnType<typeof listGoals>>[number];
type InitiativeListItem = Awaited<ReturnType<typeof listInitiatives>>[number];

/**
 * Text as the terminal may show it: every control character but newline and tab, and the invisible characters
 * that reorder a line, written as `\u001b`. Whatever a title, a note or an agent's result holds, nothing the CLI
 * prints can move the cursor, recolour the terminal or make one line pass for another. In JSON output these are
 * JSON escapes, so the value reads back the same.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** A one-line field (a title) kept on its line, even one recorded before titles had to be one line. */
function line(text: string): string {
  return text.replace(/\r\n?|\n/g, "\\n");
}

/** What an `add` command prints (DESIGN §9): the new id alone, for scripts. */
export function renderNewId(created: { id: number }): string {
  return String(created.id);
}

export function renderGoals(goals: GoalListItem[]): string {
  return goals.length ? goals.map((g) => `${g.id}  ${withSuccess(g)}`).join("\n") : "no goals";
}

export function renderInitiatives(initiatives: InitiativeListItem[]): string {
  return initiatives.length ? initiatives.map((i) => `${i.id}  goal ${i.goalId}  ${withSuccess(i)}`).join("\n") : "no initiatives";
}

/** A goal's or an initiative's title with its one-line success description. */
function withSuccess(item: { title: string; success: string | null }): string {
  return `${line(item.title)}${item.success ? ` — ${line(item.success)}` : ""}`;
}

export function renderTaskList(items: TaskListItem[]): string {
  if (!items.length) return "no tasks";
  const lines = items.map((t) => {
    const extra = [t.area ? `area:${t.area}` : "", t.blockedBy.length ? `after:${t.blockedBy.join(",")}` : ""]
      .filter(Boolean)
      .join(" ");
    const held = t.held ? `  [held: ${t.held.split(";")[0]}]` : "";
    return `#${String(t.id).padEnd(5)} ${t.status.padEnd(10)} ${t.agent.padEnd(12)} ${t.type.padEnd(9)} ${line(t.title)}${extra ? `  (${extra})` : ""}${held}`;
  });
  return lines.join("\n");
}

export function renderTask(t: TaskView): string {
  const lines = [
    `#${t.id} ${line(t.title)}`,
    `status: ${t.status}${t.held ? ` (held: ${t.held})` : ""}   attempt: ${t.attempt}   priority: ${t.priority}`,
    `type: ${t.type}   agent: ${t.agent}   project: ${t.project ?? "-"}   tier: ${t.tier ?? "-"}${t.tierPin ? " (pinned)" : ""}`,
    `area: ${t.area ?? "-"}   isolation: ${t.isolation ?? "direct"}`,
  ];
  if (t.goal) lines.push(`goal: ${t.goal.id} ${withSuccess(t.goal)}`);
  if (t.initiative) lines.push(`initiative: ${t.initiative.id} ${withSuccess(t.initiative)}`);
  if (t.blockers.length) lines.push(`after: ${t.blockers.map((b) => `#${b.id} (${b.status})`).join(", ")}`);
  if (t.worktree) lines.push(`worktree: ${t.worktree.path} on ${t.worktree.branch}`);
  if (t.description) lines.push("", t.description);
  if (t.feedback?.notes) {
    const from = t.feedback.automatic ? ` (sent back automatically: its checks failed)` : "";
    lines.push("", `feedback on attempt ${t.feedback.attempt}${from}: ${t.feedback.notes}`);
  }
  if (t.result) {
    const facts = [`attempt ${t.result.attempt}`, `exit ${t.result.exitCode}`];
    if (t.result.durationMs !== null) facts.push(`${Math.round(t.result.durationMs / 1000)} s`);
    if (t.result.diffStat) facts.push(`${t.result.diffStat.files} files +${t.result.diffStat.insertions} -${t.result.diffStat.deletions}`);
    const usage = t.result.usage;
    if (usage?.costUsd != null) facts.push(`cost $${usage.costUsd.toFixed(4)}`);
    if (usage?.inputTokens != null || usage?.outputTokens != null) facts.push(`tokens ${usage.inputTokens ?? "?"} in / ${usage.outputTokens ?? "?"} out`);
    if (t.result.cli) facts.push(`${t.result.cli.name} ${t.result.cli.version ?? "(version unknown)"}`);
    lines.push("", `result (${facts.join(", ")}):`, indent(t.result.summary));
    if (t.result.cli?.warning) lines.push(`⚠ ${t.result.cli.warning}`);
    lines.push(...checksReport(t.result.checks), ...t.result.flags.map((f) => f.text));
    if (t.autoApproval?.keptForFailedChecks && t.status === "review") lines.push("not approved on its own: a check failed, so a person decides");
    if (t.result.handoff) lines.push("handoff:", indent(t.result.handoff));
    if (t.result.whatWorked) lines.push("what worked:", indent(t.result.whatWorked));
    if (t.result.reusablePattern) lines.push("reusable pattern:", indent(t.result.reusablePattern));
  }
  if (t.failure) {
    lines.push("", `last failure: ${t.failureHeadline}`);
    const tail = tailLines(t.failure);
    if (tail.length) lines.push(...tail.map((l) => `  ${l}`));
    const log = logLine(t.failure);
    if (log) lines.push(`  ${log}`);
  }
  lines.push("", "activity:", ...t.activity.map((a) => `  ${a.at}  ${a.text}`));
  return lines.join("\n");
}

export function renderEvents(events: StoredEvent[]): string {
  if (!events.length) return "no events";
  return events
    .map((e) => `${String(e.position).padStart(6)}  ${e.meta.at}  ${e.stream}@${e.version}  ${e.type}  ${e.meta.actor}  ${JSON.stringify(e.data)}`)
    .join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

export function renderPass(report: PassReport): string {
  const lines: string[] = [];
  for (const d of report.dispatched) {
    lines.push(`dispatched #${d.taskId} (attempt ${d.attempt}, tier ${d.tier}, ${d.isolation})${d.note ? `: ${d.note}` : ""}`);
  }
  for (const a of report.autoApproved) lines.push(`auto-approved #${a.taskId} (tier ${a.tier})${a.spotCheck ? ", flagged for spot-check" : ""}`);
  for (const e of report.expired) lines.push(`#${e.taskId} attempt ${e.attempt}: ${expiredWords(e.claimed)}`);
  const held = report.holds.map((h) => h.taskId);
  lines.push(
    held.length
      ? `${held.length} task${held.length === 1 ? "" : "s"} held: ${held.slice(0, 10).map((id) => `#${id}`).join(", ")}${held.length > 10 ? ", …" : ""} (cos why ${held[0]} says why)`
      : "nothing held",
  );
  return lines.join("\n");
}

/** What became of a dispatch whose lease ran out: an unclaimed one never spends an attempt, so it is always queued again. */
export function expiredWords(claimed: boolean): string {
  return claimed
    ? "its runner stopped sending heartbeats (lease lost): queued again for its next attempt, or failed if that was its last"
    : "no runner claimed it in time: back in the queue, no attempt spent";
}

export function renderTrust(rows: TrustRow[]): string {
  if (!rows.length) return "no agents have tasks yet";
  const header = ["agent", "type", "default", "effective", "pin", "n", "approval", "send-back", "checks passed", "next"];
  const body = rows.map((r) => [
    r.agent, r.type, r.defaultTier, r.effective, r.pin ?? "-", String(r.n), percent(r.approvalRate), percent(r.sendBackRate), checkRateText(r.checks), r.next,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  return [header, ...body].map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}
