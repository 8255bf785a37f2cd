import type { StoredEvent } from "../../src/store/event-store.ts";
import type { TaskListItem, TaskView } from "../../src/app/views.ts";

export function renderTaskList(items: TaskListItem[]): string {
  if (!items.length) return "no tasks";
  const lines = items.map((t) => {
    const extra = [t.area ? `area:${t.area}` : "", t.blockedBy.length ? `after:${t.blockedBy.join(",")}` : ""]
      .filter(Boolean)
      .join(" ");
    const held = t.held ? `  [held: ${t.held.split(":")[0]}]` : "";
    return `#${String(t.id).padEnd(5)} ${t.status.padEnd(10)} ${t.agent.padEnd(12)} ${t.type.padEnd(9)} ${t.title}${extra ? `  (${extra})` : ""}${held}`;
  });
  return lines.join("\n");
}

export function renderTask(t: TaskView): string {
  const lines = [
    `#${t.id} ${t.title}`,
    `status: ${t.status}${t.held ? ` (held: ${t.held})` : ""}   attempt: ${t.attempt}   priority: ${t.priority}`,
    `type: ${t.type}   agent: ${t.agent}   project: ${t.project ?? "-"}   tier: ${t.tier ?? "-"}${t.tierPin ? " (pinned)" : ""}`,
    `area: ${t.area ?? "-"}   isolation: ${t.isolation ?? "direct"}`,
  ];
  if (t.goal) lines.push(`goal: ${t.goal.id} ${t.goal.title}${t.goal.success ? ` — ${t.goal.success}` : ""}`);
  if (t.initiative) {
    lines.push(`initiative: ${t.initiative.id} ${t.initiative.title}${t.initiative.success ? ` — ${t.initiative.success}` : ""}`);
  }
  if (t.blockers.length) lines.push(`after: ${t.blockers.map((b) => `#${b.id} (${b.status})`).join(", ")}`);
  if (t.worktree) lines.push(`worktree: ${t.worktree.path} on ${t.worktree.branch}`);
  if (t.description) lines.push("", t.description);
  if (t.feedback?.notes) lines.push("", `feedback on attempt ${t.feedback.attempt}: ${t.feedback.notes}`);
  if (t.result) {
    lines.push("", `result (attempt ${t.result.attempt}, exit ${t.result.exitCode}):`, indent(t.result.summary));
    if (t.result.handoff) lines.push("handoff:", indent(t.result.handoff));
    if (t.result.whatWorked) lines.push("what worked:", indent(t.result.whatWorked));
    if (t.result.reusablePattern) lines.push("reusable pattern:", indent(t.result.reusablePattern));
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
