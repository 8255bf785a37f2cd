import { checkAgent, checkType } from "../config/config.ts";
import type { CommandMeta } from "../domain/events.ts";
import { goalStream } from "../domain/goal/goal.ts";
import { initiativeStream } from "../domain/initiative/initiative.ts";
import { decideTask, SKILL_NAME, type TaskCommand } from "../domain/task/decide.ts";
import type { BlockerGraph } from "../domain/task/dependencies.ts";
import { parseResultSections } from "../domain/task/result.ts";
import { evolveTask, taskStream, type Isolation, type TaskEdit, type TaskEvent, type TaskOrigin, type TaskState, type Tier, type Verdict } from "../domain/task/task.ts";
import { skillExists, skillPath } from "../prompt/skills.ts";
import { NotFoundError, ValidationError } from "../shared/errors.ts";
import type { LoadedStream, StoredEvent, StreamExpectation } from "../store/event-store.ts";
import { logAt } from "../store/guards.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf, runDecision } from "./execute.ts";
import { loadReviewInput, trustDecision, type ReviewInput } from "./trust.ts";
import { unknownProject } from "./goals.ts";
import { loadTask, taskFrom } from "./task-read.ts";

export interface TaskInput {
  title: string;
  description?: string;
  type: string;
  agent: string;
  project?: string | null;
  goalId?: number | null;
  initiativeId?: number | null;
  blockedBy?: number[];
  area?: string | null;
  isolation?: Isolation | null;
  tier?: Tier | null;
  priority?: number;
  /** Skills beyond the agent's; each must have a SKILL.md when the task is queued. */
  skills?: string[];
  /** The run of an agent that queued it (through the MCP server). */
  createdBy?: TaskOrigin;
}

export interface QueueOptions {
  /** Runs inside each decision attempt, so a check on counts cannot race a concurrent queue. */
  guard?: () => Promise<void>;
  /** Keep `project` as given, null included, instead of defaulting to the only configured project. */
  exactProject?: boolean;
}

export { loadTask, taskFrom };

export function toEnvelope(e: StoredEvent): TaskEvent {
  return { type: e.type, data: e.data, at: e.meta.at, position: e.position } as TaskEvent;
}

/** Queues a task after checking it against the configuration and the goals, initiatives and tasks it names. */
export async function queueTask(ctx: AppContext, input: TaskInput, actor: string, options: QueueOptions = {}): Promise<number> {
  const meta = metaOf(ctx, actor);
  const type = input.type;
  checkType(ctx.config, type);
  checkAgent(ctx.config, input.agent);
  const project = options.exactProject ? exactProject(ctx, input.project ?? null, type) : defaultProject(ctx, input.project ?? null, type);
  const area = normaliseArea(input.area ?? null);
  const skills = [...new Set(input.skills ?? [])];
  for (const skill of skills) {
    if (SKILL_NAME.test(skill) && !skillExists(ctx.config.skillsDir, skill)) {
      throw new ValidationError(`skill "${skill}" has no ${skillPath(ctx.config.skillsDir, skill)} (cos skills lists the skills there are)`);
    }
  }
  const blockedBy = input.blockedBy ?? [];
  const { value } = await runDecision(ctx, meta, async () => {
    await options.guard?.();
    const expectations: StreamExpectation[] = [];
    let goalId = input.goalId ?? null;
    const initiativeId = input.initiativeId ?? null;
    // Everything the decision reads, in one snapshot: the next id, the initiative's goal, the goal, the blockers.
    const [maxTask, initiativeRows, goalRows, blockerRows] = await ctx.db.snapshot([
      "SELECT MAX(id) AS id FROM tasks",
      { sql: "SELECT goal_id FROM initiatives WHERE id = ?", args: [initiativeId] },
      { sql: "SELECT id FROM goals WHERE id = ?", args: [goalId] },
      { sql: `SELECT id FROM tasks WHERE id IN (SELECT value FROM json_each(?))`, args: [JSON.stringify(blockedBy)] },
    ]);
    if (initiativeId !== null) {
      const row = initiativeRows!.rows[0];
      if (!row) throw new ValidationError(`initiative ${initiativeId} does not exist`);
      const owner = Number(row.goal_id);
      if (goalId !== null && goalId !== owner) {
        throw new ValidationError(`initiative ${initiativeId} belongs to goal ${owner}, not goal ${goalId}`);
      }
      goalId = owner;
      expectations.push({ stream: initiativeStream(initiativeId), version: 1 });
    }
    if (goalId !== null) {
      // A goal named through its initiative exists: the initiative was created against it.
      if (input.goalId != null && !goalRows!.rows[0]) throw new ValidationError(`goal ${goalId} does not exist`);
      expectations.push({ stream: goalStream(goalId), version: 1 });
    }
    // Only the named blockers matter for a new task: nothing can depend on it yet, so no cycle is possible.
    const graph: BlockerGraph = new Map(blockerRows!.rows.map((r) => [Number(r.id), []]));
    const id = Number(maxTask!.rows[0]?.id ?? 0) + 1;
    const events = decideTask(
      {
        type: "QueueTask",
        graph,
        data: {
          taskId: id,
          title: input.title.trim(),
          description: (input.description ?? "").trim(),
          type,
          agent: input.agent,
          project,
          goalId,
          initiativeId,
          blockedBy,
          area,
          isolation: input.isolation ?? null,
          tier: input.tier ?? null,
          priority: input.priority ?? 0,
          ...(skills.length ? { skills } : {}),
          ...(input.createdBy ? { createdBy: input.createdBy } : {}),
        },
      },
      null,
      meta,
    );
    return { decision: { appends: [append(taskStream(id), 0, events)], expectations }, value: id };
  });
  return value;
}

/** Runs one task command against the task's current state, retrying on a concurrent change. */
export async function runTaskCommand(
  ctx: AppContext,
  id: number,
  meta: CommandMeta,
  makeCommand: (state: TaskState) => Promise<TaskCommand> | TaskCommand,
): Promise<{ state: TaskState; events: StoredEvent[] }> {
  const { value, events } = await runDecision(ctx, meta, async () => {
    const { state, version } = await loadTask(ctx, id);
    const command = await makeCommand(state);
    const emitted = decideTask(command, state, meta);
    return { decision: { appends: [append(taskStream(id), version, emitted)] }, value: { state, emitted } };
  });
  let state = value.state;
  for (const event of events) state = evolveTask(state, toEnvelope(event));
  return { state, events };
}

export async function editTask(ctx: AppContext, id: number, changes: TaskEdit, actor: string) {
  if (changes.agent !== undefined) checkAgent(ctx.config, changes.agent);
  if (changes.area !== undefined) changes = { ...changes, area: normaliseArea(changes.area) };
  if (!changes.blockedBy) return runTaskCommand(ctx, id, metaOf(ctx, actor), () => ({ type: "EditTask", data: changes, graph: new Map() }));
  // New blockers: the whole graph is read with the task, and the append holds only if nothing was
  // appended since, so two edits at once cannot each pass the cycle check and close a cycle together.
  const meta = metaOf(ctx, actor);
  const edit = changes;
  const { value, events } = await runDecision(ctx, meta, async () => {
    const { streams, results } = await ctx.store.load([taskStream(id)], [...blockerGraphQueries(), "SELECT MAX(position) AS head FROM events"]);
    const { state, version } = taskFrom(id, streams[0] as LoadedStream<TaskState>);
    const graph = blockerGraphFrom(results[0]!, results[1]!);
    const emitted = decideTask({ type: "EditTask", data: edit, graph }, state, meta);
    const head = Number(results[2]!.rows[0]?.head ?? 0);
    return { decision: { appends: [append(taskStream(id), version, emitted)], guards: [logAt(head)] }, value: state };
  });
  let state = value;
  for (const event of events) state = evolveTask(state, toEnvelope(event));
  return { state, events };
}

export function cancelTask(ctx: AppContext, id: number, reason: string | null, actor: string) {
  return runTaskCommand(ctx, id, metaOf(ctx, actor), () => ({ type: "CancelTask", data: { reason } }));
}

export interface ResultInput {
  markdown: string;
  exitCode: number;
  attempt?: number | null;
  durationMs?: number | null;
}

export function recordResult(ctx: AppContext, id: number, input: ResultInput, actor: string) {
  if (!Number.isInteger(input.exitCode) || input.exitCode < 0 || input.exitCode > 255) {
    throw new ValidationError(`the exit code must be a whole number from 0 to 255, got ${input.exitCode}`);
  }
  return runTaskCommand(ctx, id, metaOf(ctx, actor), () => ({
    type: "ReportResult",
    data: {
      attempt: input.attempt ?? null,
      exitCode: input.exitCode,
      durationMs: input.durationMs ?? null,
      sections: parseResultSections(input.markdown),
      diffStat: null,
      maxAttempts: ctx.config.resolver.maxAttempts,
    },
  }));
}

/**
 * A human verdict, and in the same append the (agent, type)'s TierChanged when this verdict moves
 * its trust-derived tier (DESIGN §5). `read` is what the caller loaded already (decideReview), used
 * for the first decision.
 */
export async function recordVerdict(
  ctx: AppContext,
  id: number,
  verdict: Verdict,
  notes: string | null,
  actor: string,
  attempt: number | null = null,
  read: ReviewInput | null = null,
): Promise<{ state: TaskState; events: StoredEvent[] }> {
  const meta = metaOf(ctx, actor);
  const { value, events } = await runDecision(ctx, meta, async (retry) => {
    const input = retry === 0 && read ? read : await loadReviewInput(ctx, id);
    const { state, version } = input.task;
    const emitted = decideTask({ type: "RecordVerdict", data: { verdict, notes: notes?.trim() || null, attempt } }, state, meta);
    const trust = trustDecision(ctx, input.trust, (standing) => ({ type: "ObserveTrust", standing }), [verdict]);
    return {
      decision: { appends: [append(taskStream(id), version, emitted), trust.append], expectations: trust.expectations, guards: trust.guards },
      value: state,
    };
  });
  let state = value;
  for (const event of events) if (event.stream === taskStream(id)) state = evolveTask(state, toEnvelope(event));
  return { state, events };
}

export function retryTask(ctx: AppContext, id: number, actor: string) {
  return runTaskCommand(ctx, id, metaOf(ctx, actor), () => ({ type: "RetryTask" }));
}

export function noteActivity(ctx: AppContext, id: number, text: string, actor: string) {
  return runTaskCommand(ctx, id, metaOf(ctx, actor), () => ({ type: "NoteActivity", data: { text } }));
}

/** DESIGN §3: the only configured project is the default; with several, a code task must name one. */
function defaultProject(ctx: AppContext, project: string | null, type: string): string | null {
  const projects = Object.keys(ctx.config.projects);
  if (project !== null) {
    if (!ctx.config.projects[project]) throw unknownProject(ctx, project);
    return project;
  }
  if (projects.length === 1) return projects[0]!;
  if (type === "code") {
    throw new ValidationError(
      projects.length
        ? `a code task needs a project: name one of ${projects.join(", ")} with --project`
        : `a code task needs a project, and none is configured (add one under "projects" in cos.config.json)`,
    );
  }
  return null;
}

/** An agent's follow-up stays in its creator's project, "no project" included. */
function exactProject(ctx: AppContext, project: string | null, type: string): string | null {
  if (project !== null && !ctx.config.projects[project]) throw unknownProject(ctx, project);
  if (project === null && type === "code") throw new ValidationError("a code task needs a project, and this one has none");
  return project;
}

function normaliseArea(area: string | null): string | null {
  if (area === null) return null;
  const value = area.trim().toLowerCase();
  if (!value) return null;
  if (!/^[a-z0-9][a-z0-9._/-]{0,59}$/.test(value)) {
    throw new ValidationError(`area "${area}" must be a short name of letters, digits, '.', '_', '/' or '-'`);
  }
  return value;
}

/** The statements `blockerGraphFrom` reads the whole blocker graph from. */
export function blockerGraphQueries(): string[] {
  return ["SELECT id FROM tasks", "SELECT task_id, blocker_id FROM task_blockers"];
}

export function blockerGraphFrom(ids: { rows: Record<string, unknown>[] }, edges: { rows: Record<string, unknown>[] }): BlockerGraph {
  const graph = new Map<number, number[]>();
  for (const row of ids.rows) graph.set(Number(row.id), []);
  for (const row of edges.rows) graph.get(Number(row.task_id))?.push(Number(row.blocker_id));
  return graph;
}
