import { checkAgent, checkType } from "../config/config.ts";
import type { CommandMeta } from "../domain/events.ts";
import { goalStream } from "../domain/goal/goal.ts";
import { initiativeStream } from "../domain/initiative/initiative.ts";
import { decideTask, SKILL_NAME, type TaskCommand } from "../domain/task/decide.ts";
import type { BlockerGraph } from "../domain/task/dependencies.ts";
import { parseResultSections } from "../domain/task/result.ts";
import { evolveTask, foldTask, taskStream, type Isolation, type TaskEdit, type TaskEvent, type TaskOrigin, type TaskState, type Tier, type Verdict } from "../domain/task/task.ts";
import { skillExists, skillPath } from "../prompt/skills.ts";
import { NotFoundError, ValidationError } from "../shared/errors.ts";
import type { Tx } from "../store/db.ts";
import { readStreamIn, type StoredEvent, type StreamExpectation } from "../store/event-store.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf, runDecision } from "./execute.ts";
import { trustAppendIn } from "./trust.ts";
import { maxId, unknownProject } from "./goals.ts";

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

export async function loadTask(ctx: AppContext, id: number): Promise<{ state: TaskState; version: number }> {
  return taskFrom(id, await ctx.store.readStream(taskStream(id)));
}

export async function loadTaskIn(tx: Tx, id: number): Promise<{ state: TaskState; version: number }> {
  return taskFrom(id, await readStreamIn(tx, taskStream(id)));
}

function taskFrom(id: number, events: StoredEvent[]): { state: TaskState; version: number } {
  const state = foldTask(events.map(toEnvelope));
  if (!state) throw new NotFoundError(`task #${id} does not exist`, { way: "list-tasks" });
  return { state, version: events.length };
}

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
  const { value } = await runDecision(ctx, meta, async () => {
    await options.guard?.();
    const expectations: StreamExpectation[] = [];
    let goalId = input.goalId ?? null;
    const initiativeId = input.initiativeId ?? null;
    if (initiativeId !== null) {
      const rows = await ctx.db.query<{ goal_id: number }>("SELECT goal_id FROM initiatives WHERE id = ?", [initiativeId]);
      if (!rows[0]) throw new ValidationError(`initiative ${initiativeId} does not exist`);
      const owner = Number(rows[0].goal_id);
      if (goalId !== null && goalId !== owner) {
        throw new ValidationError(`initiative ${initiativeId} belongs to goal ${owner}, not goal ${goalId}`);
      }
      goalId = owner;
      expectations.push({ stream: initiativeStream(initiativeId), version: 1 });
    }
    if (goalId !== null) {
      const rows = await ctx.db.query("SELECT id FROM goals WHERE id = ?", [goalId]);
      if (!rows[0]) throw new ValidationError(`goal ${goalId} does not exist`);
      expectations.push({ stream: goalStream(goalId), version: 1 });
    }
    const blockedBy = input.blockedBy ?? [];
    const graph = await blockerGraphFor(ctx, blockedBy);
    const id = (await maxId(ctx, "tasks")) + 1;
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
  // New blockers: the graph is read inside the write transaction, so two edits at once cannot each
  // pass the cycle check and close a cycle together.
  const meta = metaOf(ctx, actor);
  const edit = changes;
  return ctx.store.transaction(async (tx) => {
    const { state, version } = await loadTaskIn(tx, id);
    const emitted = decideTask({ type: "EditTask", data: edit, graph: await fullBlockerGraph(tx) }, state, meta);
    if (!emitted.length) return { state, events: [] as StoredEvent[] };
    const { events } = await ctx.store.appendIn(tx, [append(taskStream(id), version, emitted)], meta);
    let next = state;
    for (const event of events) next = evolveTask(next, toEnvelope(event));
    return { state: next, events };
  });
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
 * its trust-derived tier (DESIGN §5).
 */
export async function recordVerdict(
  ctx: AppContext,
  id: number,
  verdict: Verdict,
  notes: string | null,
  actor: string,
  attempt: number | null = null,
): Promise<{ state: TaskState; events: StoredEvent[] }> {
  const meta = metaOf(ctx, actor);
  return ctx.store.transaction(async (tx) => {
    const { state, version } = await loadTaskIn(tx, id);
    const emitted = decideTask({ type: "RecordVerdict", data: { verdict, notes: notes?.trim() || null, attempt } }, state, meta);
    const trust = await trustAppendIn(tx, ctx, state.agent, state.type, (standing) => ({ type: "ObserveTrust", standing }), [verdict]);
    const { events } = await ctx.store.appendIn(tx, [append(taskStream(id), version, emitted), trust], meta);
    let next = state;
    for (const event of events) if (event.stream === taskStream(id)) next = evolveTask(next, toEnvelope(event));
    return { state: next, events };
  });
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

/** Only the named blockers matter for a new task: nothing can depend on it yet, so no cycle is possible. */
async function blockerGraphFor(ctx: AppContext, blockedBy: number[]): Promise<BlockerGraph> {
  if (!blockedBy.length) return new Map();
  const rows = await ctx.db.query<{ id: number }>(
    `SELECT id FROM tasks WHERE id IN (${blockedBy.map(() => "?").join(",")})`,
    blockedBy,
  );
  return new Map(rows.map((r) => [Number(r.id), []]));
}

export async function fullBlockerGraph(db: Pick<Tx, "execute">): Promise<BlockerGraph> {
  const ids = await db.execute("SELECT id FROM tasks");
  const edges = await db.execute("SELECT task_id, blocker_id FROM task_blockers");
  const graph = new Map<number, number[]>();
  for (const row of ids!.rows) graph.set(Number(row.id), []);
  for (const row of edges!.rows) graph.get(Number(row.task_id))?.push(Number(row.blocker_id));
  return graph;
}
