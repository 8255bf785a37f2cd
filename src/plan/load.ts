import type { Config } from "../config/config.ts";
import type { Mode } from "../domain/settings/settings.ts";
import type { TaskStatus, Tier, Verdict } from "../domain/task/task.ts";
import { describeMissingSkills, missingSkills } from "../prompt/skills.ts";
import type { Executor } from "../store/db.ts";
import { packedRows } from "../store/packed.ts";
import { key, limitsOf, type PlanInput, type PlanTask } from "./input.ts";
import { nightStart } from "./night.ts";
import { TRUST_WINDOW as VERDICT_WINDOW } from "../domain/trust/trust.ts";
import { verdictWindow } from "./verdicts.ts";

/** An open task as the pass reads it from the tasks table (and the lease the runner renewed). */
const OPEN_TASK = packedRows<
  Omit<PlanTask, "blockedBy" | "missingSkills" | "checksFailed"> & { blockedBy: string | null; skills: string | null; checksFailed: number }
>({
  id: "t.id",
  status: "t.status",
  agent: "t.agent",
  type: "t.type",
  area: "t.area",
  goalId: "t.goal_id",
  priority: "t.priority",
  createdAt: "t.created_at",
  blockedBy: "t.blocked_by",
  attempt: "t.attempt",
  tierPin: "t.tier_pin",
  isolation: "t.isolation",
  dispatchTier: "t.tier",
  notBefore: "t.not_before",
  // Heartbeats renew the lease in `leases` only (they stay out of the log): the later of the two counts.
  leaseUntil: "CASE WHEN l.attempt = t.attempt AND l.lease_until > COALESCE(t.lease_until, '') THEN l.lease_until ELSE t.lease_until END",
  finishedAt: "t.finished_at",
  skills: "t.skills",
  // Only a task in review has its result's checks looked at (checks.ts: any outcome but "passed" fails).
  checksFailed: `CASE WHEN t.status = 'review' AND t.result IS NOT NULL
    THEN EXISTS (SELECT 1 FROM json_each(t.result, '$.checks') c WHERE json_extract(c.value, '$.outcome') <> 'passed') ELSE 0 END`,
});

/**
 * Reads what one pass needs from the projections only, never the log: the open tasks with their
 * blockers packed by SQLite into one JSON string (client row objects for 10,000 rows cost more than
 * the query), blocker statuses, recent finishes for cooldowns, settings, pins, verdict windows.
 *
 * `oneRequest` (a remote store): every read goes at once, so that through a pipelined reader
 * (Database.pipeline) they are one request, from one snapshot; the blocker statuses and verdict
 * windows are then found by SQL from the queued tasks. Otherwise (a file, where a read costs no
 * round trip) those two are asked after the tasks are read, by the ids and pairs found there, which
 * is cheaper for SQLite on a large store.
 */
/** `[[position, verdict], …]` as SQLite packed it → the verdicts, newest first. */
function newestFirst(packed: unknown): Verdict[] {
  return (JSON.parse(String(packed ?? "[]")) as [number, Verdict][]).sort((a, b) => b[0] - a[0]).map(([, verdict]) => verdict);
}

export async function loadPlanInput(
  db: Executor,
  config: Config,
  now: Date,
  runnerSlots: number | null,
  { oneRequest = false }: { oneRequest?: boolean } = {},
): Promise<PlanInput> {
  const cooldownWindow = Math.max(config.resolver.cooldownMinutes.sprint, config.resolver.cooldownMinutes.idle);
  const since = new Date(now.getTime() - cooldownWindow * 60_000).toISOString();

  const [tasksResult, finishedResult, settingsResult, trustResult, spentResult, statusAtOnce, windowsAtOnce] = await Promise.all([
    db.execute(
      `SELECT ${OPEN_TASK.select} AS list FROM tasks t LEFT JOIN leases l ON l.task_id = t.id
       WHERE t.status IN ('queued', 'dispatched', 'running', 'review')`,
    ),
    db.execute({
      sql: `SELECT agent, goal_id, id, MAX(finished_at) AS at FROM tasks
            WHERE goal_id IS NOT NULL AND finished_at IS NOT NULL AND finished_at >= ? GROUP BY agent, goal_id`,
      args: [since],
    }),
    db.execute("SELECT mode, paused FROM settings WHERE stream = 'settings'"),
    db.execute("SELECT agent, type, pin FROM trust"),
    db.execute({
      sql: "SELECT COUNT(*) AS dispatches, COALESCE(SUM(cost_usd), 0) AS cost FROM task_runs WHERE dispatched_at >= ?",
      args: [config.resolver.budget ? nightStart(now, config.resolver.budget.nightStartsAt, config.digest.timezone) : now.toISOString()],
    }),
    // Blocker statuses: open blockers are in the list above; only the rest (approved or ended) are
    // looked up, by the blockers of queued tasks, so the pass does not grow with the history of finished tasks.
    oneRequest
      ? db.execute(
          `SELECT json_group_array(json_array(id, status)) AS list FROM tasks
           WHERE id IN (SELECT b.blocker_id FROM task_blockers b JOIN tasks q ON q.id = b.task_id WHERE q.status = 'queued')
             AND status NOT IN ('queued', 'dispatched', 'running', 'review')`,
        )
      : null,
    // The last human verdicts of each (agent, type) with a queued task, by the (agent, type, position) index.
    oneRequest
      ? db.execute(
          `SELECT p.agent, p.type,
                  (SELECT json_group_array(json_array(position, verdict)) FROM
                     (SELECT position, verdict FROM verdicts v WHERE v.agent = p.agent AND v.type = p.type ORDER BY position DESC LIMIT ${VERDICT_WINDOW})) AS window
           FROM (SELECT DISTINCT agent, type FROM tasks WHERE status = 'queued') p`,
        )
      : null,
  ]);
  const skillFiles = new Map<string, boolean>();
  const skillProblem = (status: string, agent: string, skills: string | null): PlanTask["missingSkills"] => {
    if (status !== "queued" || (!skills && !config.agents[agent]?.skills.length)) return null;
    const task = { agent, skills: skills ? skills.split(",") : [] };
    const names = missingSkills(config, task, skillFiles);
    return names.length ? { names, note: describeMissingSkills(config, task, names) } : null;
  };
  const f = OPEN_TASK.read;
  const tasks: PlanTask[] = OPEN_TASK.rows(tasksResult.rows[0]?.list).map((r) => {
    const blockedBy = f.blockedBy(r);
    return {
      id: f.id(r),
      status: f.status(r),
      agent: f.agent(r),
      type: f.type(r),
      area: f.area(r),
      goalId: f.goalId(r),
      priority: f.priority(r),
      createdAt: f.createdAt(r),
      blockedBy: blockedBy ? blockedBy.split(",").map(Number) : [],
      attempt: f.attempt(r),
      tierPin: f.tierPin(r),
      isolation: f.isolation(r),
      dispatchTier: f.dispatchTier(r),
      notBefore: f.notBefore(r),
      leaseUntil: f.leaseUntil(r),
      finishedAt: f.finishedAt(r),
      checksFailed: f.checksFailed(r) === 1,
      missingSkills: skillProblem(f.status(r), f.agent(r), f.skills(r)),
    };
  });

  const statusOf = new Map<number, TaskStatus>(tasks.map((t) => [t.id, t.status]));
  const pairs = new Map<string, [string, string]>();
  for (const t of tasks) if (t.status === "queued") pairs.set(key(t.agent, t.type), [t.agent, t.type]);
  const missing = new Set<number>();
  for (const t of tasks) if (t.status === "queued") for (const b of t.blockedBy) if (!statusOf.has(b)) missing.add(b);
  const [statusResult, windows] = oneRequest
    ? [statusAtOnce!, windowsAtOnce!.rows.map((row) => ({ agent: String(row.agent), type: String(row.type), verdicts: newestFirst(row.window) }))]
    : await Promise.all([
        db.execute({
          sql: "SELECT json_group_array(json_array(id, status)) AS list FROM tasks WHERE id IN (SELECT value FROM json_each(?))",
          args: [JSON.stringify([...missing])],
        }),
        Promise.all([...pairs.values()].map(async ([agent, type]) => ({ agent, type, verdicts: await verdictWindow(db, agent, type) }))),
      ]);
  for (const [id, s] of JSON.parse(String(statusResult.rows[0]?.list ?? "[]")) as [number, TaskStatus][]) statusOf.set(id, s);
  const lastFinished = new Map<string, { taskId: number; at: string }>();
  for (const row of finishedResult.rows) {
    lastFinished.set(key(String(row.agent), Number(row.goal_id)), { taskId: Number(row.id), at: String(row.at) });
  }
  const settings = settingsResult.rows[0];

  const pins = new Map<string, Tier | null>();
  for (const row of trustResult.rows) pins.set(key(String(row.agent), String(row.type)), (row.pin as Tier | null) ?? null);
  const trust = new Map<string, { pin: Tier | null; verdicts: Verdict[] }>();
  for (const { agent, type, verdicts } of windows) trust.set(key(agent, type), { pin: pins.get(key(agent, type)) ?? null, verdicts });

  return {
    now,
    tasks,
    statusOf,
    lastFinished,
    mode: ((settings?.mode as Mode | undefined) ?? "sprint"),
    paused: Number(settings?.paused ?? 0) === 1,
    limits: limitsOf(config),
    budgetSpent: { dispatches: Number(spentResult.rows[0]?.dispatches ?? 0), costUsd: Number(spentResult.rows[0]?.cost ?? 0) },
    runnerSlots,
    trust,
  };
}
