import { decideGoal, evolveGoal, goalStream, type GoalEvent } from "../domain/goal/goal.ts";
import { decideInitiative, initiativeStream } from "../domain/initiative/initiative.ts";
import { NotFoundError, ValidationError } from "../shared/errors.ts";
import type { StoredEvent } from "../store/event-store.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf, runDecision } from "./execute.ts";

export interface GoalInput {
  title: string;
  success?: string | null;
  project?: string | null;
}

export async function createGoal(ctx: AppContext, input: GoalInput, actor: string): Promise<number> {
  const project = input.project ?? null;
  if (project !== null && !ctx.config.projects[project]) throw unknownProject(ctx, project);
  const meta = metaOf(ctx, actor);
  const { value } = await runDecision(ctx, meta, async () => {
    const id = (await maxId(ctx, "goals")) + 1;
    const events = decideGoal(
      { type: "CreateGoal", data: { goalId: id, title: input.title.trim(), success: input.success?.trim() || null, project } },
      null,
    );
    return { decision: { appends: [append(goalStream(id), 0, events)] }, value: id };
  });
  return value;
}

export interface InitiativeInput {
  title: string;
  goalId: number;
  success?: string | null;
}

export async function createInitiative(ctx: AppContext, input: InitiativeInput, actor: string): Promise<number> {
  const meta = metaOf(ctx, actor);
  const { value } = await runDecision(ctx, meta, async () => {
    // The goal and the next id, in one snapshot.
    const { streams, results } = await ctx.store.load([goalStream(input.goalId)], ["SELECT MAX(id) AS id FROM initiatives"]);
    const goal = goalFrom(input.goalId, streams[0]!.events);
    const id = Number(results[0]!.rows[0]?.id ?? 0) + 1;
    const events = decideInitiative(
      {
        type: "CreateInitiative",
        data: { initiativeId: id, goalId: input.goalId, title: input.title.trim(), success: input.success?.trim() || null },
      },
      null,
    );
    return {
      decision: { appends: [append(initiativeStream(id), 0, events)], expectations: [{ stream: goalStream(goal.id), version: 1 }] },
      value: id,
    };
  });
  return value;
}

export async function loadGoal(ctx: AppContext, id: number) {
  return goalFrom(id, await ctx.store.readStream(goalStream(id)));
}

function goalFrom(id: number, events: StoredEvent[]) {
  if (!events.length) throw new NotFoundError(`goal ${id} does not exist (see "cos goal list")`);
  return events.reduce((state, e) => evolveGoal(state, { type: e.type, data: e.data, at: e.meta.at } as GoalEvent), null as ReturnType<typeof evolveGoal> | null)!;
}

export async function maxId(ctx: AppContext, table: "goals" | "initiatives" | "tasks"): Promise<number> {
  const rows = await ctx.db.query<{ id: number | null }>(`SELECT MAX(id) AS id FROM ${table}`);
  return Number(rows[0]?.id ?? 0);
}

export function unknownProject(ctx: AppContext, project: string): ValidationError {
  const known = Object.keys(ctx.config.projects);
  return new ValidationError(
    known.length
      ? `unknown project "${project}": configured projects are ${known.join(", ")}`
      : `unknown project "${project}": no projects are configured (add one under "projects" in cos.config.json)`,
  );
}
