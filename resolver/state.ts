import type { InStatement, ResultSet } from "@libsql/client";
import type { Config } from "../src/config/config.ts";
import type { Mode } from "../src/domain/settings/settings.ts";
import type { TaskStatus, Tier, Verdict } from "../src/domain/task/task.ts";
import { describeMissingSkills, missingSkills } from "../src/prompt/skills.ts";
import { key, type PlanInput, type PlanTask } from "./plan.ts";

/** A write transaction or the reader: the pass reads inside its transaction, `cos why` outside. */
export interface Executor {
  execute(statement: InStatement): Promise<ResultSet>;
}

type PackedTask = [
  number, string, string, string, string | null, number | null, number, string, string | null, number,
  string | null, string | null, string | null, string | null, string | null, string | null, string | null,
];

/**
 * Reads what one pass needs from the projections only, never the log: the open tasks with their
 * blockers packed by SQLite into one JSON string (client row objects for 10,000 rows cost more than
 * the query), blocker statuses, recent finishes for cooldowns, settings, pins, verdict windows.
 */
export async function loadPlanInput(
  db: Executor,
  config: Config,
  now: Date,
  runnerSlots: number | null,
): Promise<PlanInput> {
  const cooldownWindow = Math.max(config.resolver.cooldownMinutes.sprint, config.resolver.cooldownMinutes.idle);
  const since = new Date(now.getTime() - cooldownWindow * 60_000).toISOString();

  // Every read at once, none waiting on another's answer: through a pipelined reader
  // (Database.pipeline) they are one request to a remote store, read from one snapshot.
  const [tasksResult, statusResult, finishedResult, settingsResult, trustResult, spentResult, windowsResult] = await Promise.all([
    db.execute(
      `SELECT json_group_array(json_array(t.id, t.status, t.agent, t.type, t.area, t.goal_id, t.priority, t.created_at,
          t.blocked_by, t.attempt, t.tier_pin, t.isolation,
          t.tier, t.not_before,
          CASE WHEN l.attempt = t.attempt AND l.lease_until > COALESCE(t.lease_until, '') THEN l.lease_until ELSE t.lease_until END,
          t.finished_at, t.skills)) AS list
       FROM tasks t LEFT JOIN leases l ON l.task_id = t.id
       WHERE t.status IN ('queued', 'dispatched', 'running', 'review')`,
    ),
    // Blocker statuses: open blockers are in the list above; only the rest (approved or ended) are
    // looked up, by the blockers of queued tasks, so the pass does not grow with the history of finished tasks.
    db.execute(
      `SELECT json_group_array(json_array(id, status)) AS list FROM tasks
       WHERE id IN (SELECT b.blocker_id FROM task_blockers b JOIN tasks q ON q.id = b.task_id WHERE q.status = 'queued')
         AND status NOT IN ('queued', 'dispatched', 'running', 'review')`,
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
    // The last 20 human verdicts of each (agent, type) with a queued task, by the (agent, type, position) index.
    db.execute(
      `SELECT p.agent, p.type,
              (SELECT json_group_array(json_array(position, verdict)) FROM
                 (SELECT position, verdict FROM verdicts v WHERE v.agent = p.agent AND v.type = p.type ORDER BY position DESC LIMIT 20)) AS window
       FROM (SELECT DISTINCT agent, type FROM tasks WHERE status = 'queued') p`,
    ),
  ]);
  const packed = JSON.parse(String(tasksResult.rows[0]?.list ?? "[]")) as PackedTask[];
  const skillFiles = new Map<string, boolean>();
  const skillProblem = (status: string, agent: string, skills: string | null): PlanTask["missingSkills"] => {
    if (status !== "queued" || (!skills && !config.agents[agent]?.skills.length)) return null;
    const task = { agent, skills: skills ? skills.split(",") : [] };
    const names = missingSkills(config, task, skillFiles);
    return names.length ? { names, note: describeMissingSkills(config, task, names) } : null;
  };
  const tasks: PlanTask[] = packed.map((r) => ({
    id: r[0],
    status: r[1] as TaskStatus,
    agent: r[2],
    type: r[3],
    area: r[4],
    goalId: r[5],
    priority: r[6],
    createdAt: r[7],
    blockedBy: r[8] ? r[8].split(",").map(Number) : [],
    attempt: r[9],
    tierPin: r[10] as Tier | null,
    isolation: r[11] as PlanTask["isolation"],
    tier: r[12] as Tier | null,
    notBefore: r[13],
    leaseUntil: r[14],
    finishedAt: r[15],
    missingSkills: skillProblem(r[1], r[2], r[16]),
  }));
  const statusOf = new Map<number, TaskStatus>(tasks.map((t) => [t.id, t.status]));

  for (const [id, s] of JSON.parse(String(statusResult.rows[0]?.list ?? "[]")) as [number, TaskStatus][]) statusOf.set(id, s);
  const lastFinished = new Map<string, { taskId: number; at: string }>();
  for (const row of finishedResult.rows) {
    lastFinished.set(key(String(row.agent), Number(row.goal_id)), { taskId: Number(row.id), at: String(row.at) });
  }
  const settings = settingsResult.rows[0];

  const pins = new Map<string, Tier | null>();
  for (const row of trustResult.rows) pins.set(key(String(row.agent), String(row.type)), (row.pin as Tier | null) ?? null);
  const trust = new Map<string, { pin: Tier | null; verdicts: Verdict[] }>();
  for (const row of windowsResult.rows) {
    const k = key(String(row.agent), String(row.type));
    const window = (JSON.parse(String(row.window ?? "[]")) as [number, Verdict][]).sort((a, b) => b[0] - a[0]);
    trust.set(k, { pin: pins.get(k) ?? null, verdicts: window.map(([, verdict]) => verdict) });
  }

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

export function limitsOf(config: Config): PlanInput["limits"] {
  return {
    maxConcurrent: config.resolver.maxConcurrent,
    cooldownMinutes: config.resolver.cooldownMinutes,
    autoApproveHours: config.review.autoApproveHours,
    typeDefaults: config.review.defaults,
    agentIsolation: Object.fromEntries(Object.entries(config.agents).map(([name, a]) => [name, a.defaultIsolation])),
    budget: config.resolver.budget ?? null,
  };
}

/** The last 20 human verdicts of an (agent, type), newest first, by log position. */
export async function verdictWindow(db: Executor, agent: string, type: string): Promise<Verdict[]> {
  const result = await db.execute({
    sql: "SELECT verdict FROM verdicts WHERE agent = ? AND type = ? ORDER BY position DESC LIMIT 20",
    args: [agent, type],
  });
  return result.rows.map((r) => r.verdict as Verdict);
}

/** The latest instant ≤ now at which the local clock in `timeZone` read `hh:mm`, as ISO-8601 UTC. */
export function nightStart(now: Date, hhmm: string, timeZone: string): string {
  const [hh, mm] = hhmm.split(":").map(Number) as [number, number];
  const local = localParts(now, timeZone);
  let candidate = fromLocal(local.year, local.month, local.day, hh, mm, timeZone);
  if (candidate > now.getTime()) {
    // Yesterday by the calendar, not 24 hours back: days with a clock change are 23 or 25 hours long.
    const yesterday = new Date(Date.UTC(local.year, local.month - 1, local.day - 1));
    candidate = fromLocal(yesterday.getUTCFullYear(), yesterday.getUTCMonth() + 1, yesterday.getUTCDate(), hh, mm, timeZone);
  }
  return new Date(candidate).toISOString();
}

function localParts(at: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute") };
}

/** A local wall-clock time in `timeZone` → epoch ms (two rounds of offset correction cover DST). */
function fromLocal(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const wanted = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wanted;
  for (let i = 0; i < 2; i++) {
    const p = localParts(new Date(guess), timeZone);
    const shown = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    guess += wanted - shown;
  }
  return guess;
}
