import { evolveTrust, decideTrust, trustStream, type TrustCommand, type TrustEvent, type TrustState } from "../domain/trust/tier-pins.ts";
import { nextMove, trustStanding, type TrustStanding } from "../domain/trust/trust.ts";
import type { TaskState, Tier, Verdict } from "../domain/task/task.ts";
import { ValidationError } from "../shared/errors.ts";
import { verdictWindow } from "../../resolver/state.ts";
import { defaultTierOf } from "../../resolver/plan.ts";
import { knownTypes } from "../config/config.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf, runDecision } from "./execute.ts";
import type { Guard, LoadedStream, StreamAppend, StreamExpectation } from "../store/event-store.ts";
import { unchanged } from "../store/guards.ts";
import { taskFrom } from "./tasks.ts";
import { taskStream } from "../domain/task/task.ts";

/** What trust decisions read about one (agent, type): its stream and its human verdicts. */
export interface TrustInput {
  agent: string;
  type: string;
  state: TrustState | null;
  version: number;
  /** The last 20 human verdicts, newest first. */
  verdicts: Verdict[];
  /** The log position of the newest verdict: the decision holds only while no verdict joins it. */
  newest: number;
}

/** A verdict's reads, in one snapshot: the task, and the trust of its (agent, type). */
export interface ReviewInput {
  task: { state: TaskState; version: number };
  trust: TrustInput;
}

const WINDOW = 20;

/** The statements that read an (agent, type)'s verdict window and its newest position. */
function windowQueries(agent: string, type: string) {
  return [
    { sql: `SELECT verdict FROM verdicts WHERE agent = ? AND type = ? ORDER BY position DESC LIMIT ${WINDOW}`, args: [agent, type] },
    { sql: "SELECT COALESCE(MAX(position), 0) AS newest FROM verdicts WHERE agent = ? AND type = ?", args: [agent, type] },
  ];
}

function trustFrom(agent: string, type: string, loaded: LoadedStream, window: { rows: Record<string, unknown>[] }, newest: { rows: Record<string, unknown>[] }): TrustInput {
  let state: TrustState | null = null;
  for (const e of loaded.events) state = evolveTrust(state, { type: e.type, data: e.data, at: e.meta.at } as TrustEvent);
  return {
    agent,
    type,
    state,
    version: loaded.version,
    verdicts: window.rows.map((r) => r.verdict as Verdict),
    newest: Number(newest.rows[0]?.newest ?? 0),
  };
}

export async function loadTrustInput(ctx: AppContext, agent: string, type: string): Promise<TrustInput> {
  const { streams, results } = await ctx.store.load([trustStream(agent, type)], windowQueries(agent, type));
  return trustFrom(agent, type, streams[0]!, results[0]!, results[1]!);
}

/**
 * A task and the trust of its (agent, type), in one snapshot (one request to a remote store): the
 * (agent, type) is read from the task's projection row in the same snapshot as its stream.
 */
export async function loadReviewInput(ctx: AppContext, id: number): Promise<ReviewInput> {
  const pair = "(SELECT agent FROM tasks WHERE id = ?) AND type = (SELECT type FROM tasks WHERE id = ?)";
  const { streams, results } = await ctx.store.load(
    [taskStream(id)],
    [
      // trustStream(agent, type), spelled in SQL: the task's agent and type are not known before this read.
      { sql: "SELECT position, event_id, stream, version, type, data, meta FROM events WHERE stream = (SELECT 'trust-' || agent || '-' || type FROM tasks WHERE id = ?) ORDER BY version", args: [id] },
      { sql: `SELECT verdict FROM verdicts WHERE agent = ${pair} ORDER BY position DESC LIMIT ${WINDOW}`, args: [id, id] },
      { sql: `SELECT COALESCE(MAX(position), 0) AS newest FROM verdicts WHERE agent = ${pair}`, args: [id, id] },
    ],
  );
  const task = taskFrom(id, streams[0] as LoadedStream<TaskState>);
  const stream = trustStream(task.state.agent, task.state.type);
  const trust = trustFrom(task.state.agent, task.state.type, ctx.store.loaded(stream, results[0]!), results[1]!, results[2]!);
  return { task, trust };
}

/**
 * The trust stream's share of a decision: a TierChanged when the command moves the tier, else
 * nothing; and what it read, as expectations: the trust stream (a pin at the same time) and the
 * verdict window (two verdicts at once on one (agent, type) must each see the other, or a tier
 * change both together cause would be missed).
 */
export function trustDecision(
  ctx: AppContext,
  input: TrustInput,
  command: (standing: TrustStanding) => TrustCommand,
  extra: Verdict[] = [],
): { append: StreamAppend; expectations: StreamExpectation[]; guards: Guard[] } {
  const { agent, type } = input;
  const standing = trustStanding([...extra, ...input.verdicts], defaultTierOf(type, ctx.config.review.defaults));
  const events = decideTrust(command(standing), input.state, agent, type);
  const [, newest] = windowQueries(agent, type);
  return {
    append: append(trustStream(agent, type), input.version, events),
    expectations: events.length ? [] : [{ stream: trustStream(agent, type), version: input.version }],
    guards: [unchanged(`the verdicts of ${agent} ${type}`, newest!.sql, newest!.args, input.newest)],
  };
}

function checkPair(ctx: AppContext, agent: string, type: string): void {
  if (!ctx.config.agents[agent]) {
    throw new ValidationError(`unknown agent "${agent}": configured agents are ${Object.keys(ctx.config.agents).join(", ") || "none"}`);
  }
  if (!knownTypes(ctx.config).includes(type)) {
    throw new ValidationError(`unknown type "${type}": use one of ${knownTypes(ctx.config).join(", ")}`);
  }
}

async function runTrust(ctx: AppContext, agent: string, type: string, command: (standing: TrustStanding) => TrustCommand, actor: string) {
  checkPair(ctx, agent, type);
  const { events } = await runDecision(ctx, metaOf(ctx, actor), async () => {
    const decision = trustDecision(ctx, await loadTrustInput(ctx, agent, type), command);
    return { decision: { appends: [decision.append], expectations: decision.expectations, guards: decision.guards }, value: null };
  });
  return { changed: events.length > 0 };
}

export const pinTier = (ctx: AppContext, agent: string, type: string, tier: Tier, actor: string) =>
  runTrust(ctx, agent, type, (standing) => ({ type: "PinTier", tier, standing }), actor);

export const clearPin = (ctx: AppContext, agent: string, type: string, actor: string) =>
  runTrust(ctx, agent, type, (standing) => ({ type: "ClearPin", standing }), actor);

export interface TrustRow {
  agent: string;
  type: string;
  defaultTier: Tier;
  effective: Tier;
  pin: Tier | null;
  tierUsed: Tier;
  n: number;
  approvalRate: number;
  sendBackRate: number;
  next: string;
}

/** One row per (agent, type) that has tasks or a pin. */
export async function trustTable(ctx: AppContext): Promise<TrustRow[]> {
  const pairs = await ctx.db.query<{ agent: string; type: string; pin: Tier | null }>(
    `SELECT p.agent, p.type, t.pin FROM (SELECT agent, type FROM tasks UNION SELECT agent, type FROM trust) p
     LEFT JOIN trust t ON t.agent = p.agent AND t.type = p.type ORDER BY p.agent, p.type`,
  );
  const reads = ctx.db.pipeline();
  return Promise.all(
    pairs.map(async ({ agent, type, pin }) => {
      const history = await verdictWindow(reads, agent, type);
      const defaultTier = defaultTierOf(type, ctx.config.review.defaults);
      const standing = trustStanding(history, defaultTier);
      return {
        agent,
        type,
        defaultTier,
        effective: standing.effective,
        pin: pin ?? null,
        tierUsed: pin ?? standing.effective,
        n: standing.n,
        approvalRate: standing.approvalRate,
        sendBackRate: standing.sendBackRate,
        next: nextMove(history, defaultTier),
      };
    }),
  );
}
