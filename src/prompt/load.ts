import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import type { TaskResult, TaskState } from "../domain/task/task.ts";
import type { PromptInput } from "./build.ts";

interface Executor {
  execute(statement: { sql: string; args: (string | number | null)[] }): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Gathers a task's prompt input: its own goal and initiative, its blockers' handoffs, and the
 * learnings of approved tasks in its initiative. Nothing from other initiatives, no other agents'
 * task lists, no git history.
 */
export async function loadPromptInput(db: Executor, config: Config, task: TaskState): Promise<PromptInput> {
  const goal = task.goalId === null ? null : (await db.execute({ sql: "SELECT title, success FROM goals WHERE id = ?", args: [task.goalId] })).rows[0];
  const initiative =
    task.initiativeId === null
      ? null
      : (await db.execute({ sql: "SELECT title, success FROM initiatives WHERE id = ?", args: [task.initiativeId] })).rows[0];
  const prerequisites = task.blockedBy.length
    ? (
        await db.execute({
          sql: `SELECT id, title, agent, result FROM tasks WHERE id IN (${task.blockedBy.map(() => "?").join(",")}) ORDER BY id`,
          args: task.blockedBy,
        })
      ).rows.map((r) => {
        const result = r.result ? (JSON.parse(String(r.result)) as TaskResult) : null;
        return {
          id: Number(r.id),
          title: String(r.title),
          agent: String(r.agent),
          handoff: result?.handoff ?? result?.summary ?? "(no handoff recorded)",
        };
      })
    : [];
  const siblings =
    task.initiativeId === null
      ? []
      : (
          await db.execute({
            sql: `SELECT id, title, result FROM tasks WHERE initiative_id = ? AND status = 'approved' AND id <> ?
                  ORDER BY updated_at DESC, id DESC`,
            args: [task.initiativeId, task.id],
          })
        ).rows.map((r) => {
          const result = r.result ? (JSON.parse(String(r.result)) as TaskResult) : null;
          return { id: Number(r.id), title: String(r.title), whatWorked: result?.whatWorked ?? null, reusablePattern: result?.reusablePattern ?? null };
        });
  const skillNames = config.agents[task.agent]?.skills ?? [];
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
      ? { notes: task.feedback.notes, attempt: task.feedback.attempt, previousResult: task.feedback.result ? resultText(task.feedback.result) : null }
      : null,
    goal: goal ? { title: String(goal.title), success: (goal.success as string | null) ?? null } : null,
    initiative: initiative ? { title: String(initiative.title), success: (initiative.success as string | null) ?? null } : null,
    prerequisites,
    siblings,
    skills: skillNames.map((name) => loadSkill(config.skillsDir, name)),
    signals: [],
  };
}

function resultText(result: TaskResult): string {
  const parts = [result.summary];
  if (result.handoff) parts.push(`Handoff: ${result.handoff}`);
  return parts.join("\n\n");
}

function loadSkill(dir: string, name: string): { name: string; text: string } {
  const path = join(dir, name, "SKILL.md");
  return { name, text: existsSync(path) ? readFileSync(path, "utf8") : `(skill "${name}" has no ${path})` };
}
