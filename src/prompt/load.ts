import type { Config } from "../config/config.ts";
import { SIGNAL_WINDOW_DAYS, summariseSignals, type SignalRow } from "../domain/content/signals.ts";
import type { TaskResult, TaskState } from "../domain/task/task.ts";
import { reportChannelOf, type PromptInput } from "./build.ts";
import { readSkill, skillsOf } from "./skills.ts";

interface Executor {
  execute(statement: { sql: string; args: (string | number | null)[] }): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Gathers a task's prompt input: its own goal and initiative, its blockers' handoffs, and the
 * learnings of approved tasks in its initiative. Nothing from other initiatives, no other agents'
 * task lists, no git history.
 */
export async function loadPromptInput(db: Executor, config: Config, task: TaskState, now?: Date): Promise<PromptInput> {
  // Every read at once: through a pipelined reader (Database.pipeline) they are one request.
  const none = Promise.resolve({ rows: [] as Record<string, unknown>[] });
  const [goals, initiatives, blockers, approved, signals] = await Promise.all([
    task.goalId === null ? none : db.execute({ sql: "SELECT title, success FROM goals WHERE id = ?", args: [task.goalId] }),
    task.initiativeId === null ? none : db.execute({ sql: "SELECT title, success FROM initiatives WHERE id = ?", args: [task.initiativeId] }),
    task.blockedBy.length
      ? db.execute({
          sql: `SELECT id, title, agent, result FROM tasks WHERE id IN (${task.blockedBy.map(() => "?").join(",")}) ORDER BY id`,
          args: task.blockedBy,
        })
      : none,
    task.initiativeId === null
      ? none
      : db.execute({
          sql: `SELECT id, title, result FROM tasks WHERE initiative_id = ? AND status = 'approved' AND id <> ?
                ORDER BY updated_at DESC, id DESC`,
          args: [task.initiativeId, task.id],
        }),
    // Content tasks only, and only with a "now" to count the 30 days from (every caller that dispatches has one).
    task.type === "content" && now ? loadSignals(db, task.project, now) : Promise.resolve([] as string[]),
  ]);
  const goal = goals.rows[0];
  const initiative = initiatives.rows[0];
  const prerequisites = blockers.rows.map((r) => {
    const result = r.result ? (JSON.parse(String(r.result)) as TaskResult) : null;
    return {
      id: Number(r.id),
      title: String(r.title),
      agent: String(r.agent),
      handoff: result?.handoff ?? result?.summary ?? "(no handoff recorded)",
    };
  });
  const siblings = approved.rows.map((r) => {
    const result = r.result ? (JSON.parse(String(r.result)) as TaskResult) : null;
    return { id: Number(r.id), title: String(r.title), whatWorked: result?.whatWorked ?? null, reusablePattern: result?.reusablePattern ?? null };
  });
  return {
    task: {
      id: task.id,
      title: task.title,
      description: task.description,
      type: task.type,
      agent: task.agent,
      project: task.project,
      attempt: task.attempt,
    },
    feedback: task.feedback
      ? {
          notes: task.feedback.notes,
          attempt: task.feedback.attempt,
          previousResult: task.feedback.result ? resultText(task.feedback.result) : null,
          ...(task.feedback.automatic ? { automatic: true } : {}),
        }
      : null,
    goal: goal ? { title: String(goal.title), success: (goal.success as string | null) ?? null } : null,
    initiative: initiative ? { title: String(initiative.title), success: (initiative.success as string | null) ?? null } : null,
    prerequisites,
    siblings,
    skills: skillsOf(config, task).map((name) => {
      const skill = readSkill(config.skillsDir, name);
      return { name: skill.name, text: skill.text };
    }),
    signals,
    report: reportChannelOf(config.agents[task.agent]),
  };
}

/** The last 30 days of signals on content items of the task's project (or of no project, for a task with none). */
async function loadSignals(db: Executor, project: string | null, now: Date): Promise<string[]> {
  const since = new Date(now.getTime() - SIGNAL_WINDOW_DAYS * 24 * 3600_000).toISOString();
  const result = await db.execute({
    sql: `SELECT s.item_id, i.title, i.channel, i.status, s.metric, s.value, s.at
          FROM content_signals s JOIN content_items i ON i.id = s.item_id
          WHERE i.project IS ? AND s.at >= ? AND s.at <= ? ORDER BY s.at DESC, s.item_id, s.seq`,
    args: [project, since, now.toISOString()],
  });
  const rows: SignalRow[] = result.rows.map((r) => ({
    itemId: Number(r.item_id),
    title: String(r.title),
    channel: String(r.channel),
    status: String(r.status),
    metric: String(r.metric),
    value: Number(r.value),
    at: String(r.at),
  }));
  return summariseSignals(rows);
}

function resultText(result: TaskResult): string {
  const parts = [result.summary];
  if (result.handoff) parts.push(`Handoff: ${result.handoff}`);
  return parts.join("\n\n");
}
