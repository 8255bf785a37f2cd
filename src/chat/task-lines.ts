import type { AppContext } from "../app/context.ts";
import { logLine, tailLines } from "../app/run-words.ts";
import { showTask } from "../app/views.ts";
import { checksReport } from "../domain/task/checks.ts";
import type { Hints } from "../shared/hints.ts";
import { actorsIn, markActors, peopleOf } from "../app/people.ts";
import type { TextBlock } from "./types.ts";

/** The last activity lines `/show` gives; `cos task show` has them all. */
const ACTIVITY_SHOWN = 8;

/**
 * A task whole, for chat (`/show 42`): what it is, its result's summary in full (a card cuts it), its
 * last failure with the agent's last lines and where the log is, and its latest activity, people named.
 */
export async function taskLines(ctx: AppContext, id: number, hints: Hints): Promise<TextBlock> {
  const t = await showTask(ctx, id, hints);
  const lines = [
    `${t.status}${t.held ? ` (held: ${t.held})` : ""} · ${t.agent} · ${t.type} · tier ${t.tier ?? "not fixed yet"} · attempt ${t.attempt}`,
  ];
  if (t.blockers.length) lines.push(`after ${t.blockers.map((b) => `#${b.id} (${b.status})`).join(", ")}`);
  if (t.description) lines.push("", t.description);
  if (t.result) {
    lines.push("", `Result of attempt ${t.result.attempt}:`, t.result.summary.trim() || "(no summary)");
    const packet = [...checksReport(t.result.checks), ...t.result.flags.map((f) => f.text)];
    if (packet.length) lines.push("", ...packet);
  }
  if (t.failure) {
    lines.push("", `Last failure: ${t.failureHeadline}`);
    lines.push(...tailLines(t.failure));
    const log = logLine(t.failure);
    if (log) lines.push(log);
  }
  const recent = t.activity.slice(-ACTIVITY_SHOWN);
  const people = await peopleOf(ctx.db, recent.flatMap((a) => actorsIn(a.text)));
  lines.push("", "Activity:", ...recent.map((a) => `${a.at.slice(0, 16).replace("T", " ")}  ${markActors(a.text, people)}`));
  return { title: `#${t.id} ${t.title}`, lines };
}
