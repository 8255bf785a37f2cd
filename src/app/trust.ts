import type { InStatement, InValue } from "@libsql/client";
import { decideTrust, evolveTrust, trustStream, type TrustCommand, type TrustEvent, type TrustState } from "../domain/trust/aggregate.ts";
import { defaultTierOf, nextMove, shownRates, trustStanding, TRUST_WINDOW, type TrustStanding } from "../domain/trust/trust.ts";
import type { TaskState, Tier, Verdict } from "../domain/task/task.ts";
import { verdictWindow } from "../plan/verdicts.ts";
import { checkPassRate, type CheckPassRate } from "./check-rate.ts";
import { checkAgent, checkType } from "../config/config.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf, runDecision } from "./execute.ts";
import type { Guard, LoadedStream, StreamAppend, StreamExpectation } from "../store/event-store.ts";
import { unchanged } from "../store/guards.ts";
import { taskFrom } from "./task-read.ts";
import { taskStream } from "../domain/task/task.ts";

/** What trust decisions read about one (agent, type): its stream and its human verdicts. */
export interface TrustInput {
  agent: string;
  type: string;
  /** The pair's stream (trustStreamSql). */
  stream: string;
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

const WINDOW = TRUST_WINDOW;

/** An SQL expression and the arguments of its placeholders. */
interface Sql {
  sql: string;
  args: InValue[];
}

/**
 * The reads of an (agent, type)'s trust, over SQL expressions for the agent and the type: the events
 * of its stream, its verdict window and the position of its newest verdict. The stream is the one the
 * trust table records for the pair (a pair with `-` in a name that had a stream before trustStream
 * encoded `-` keeps it), else trustStream's, spelled here in SQL too, so that a verdict reads its
 * task's trust in the same snapshot as the task.
 */
function trustQueries(agent: Sql, type: Sql): InStatement[] {
  const pair = { sql: `agent = ${agent.sql} AND type = ${type.sql}`, args: [...agent.args, ...type.args] };
  const stream = `COALESCE((SELECT stream FROM trust WHERE ${pair.sql}), 'trust-' || replace(${agent.sql}, '-', '.') || '-' || replace(${type.sql}, '-', '.'))`;
  return [
    { sql: `SELECT position, event_id, stream, version, type, data, meta FROM events WHERE stream = ${stream} ORDER BY version`, args: [...pair.args, ...pair.args] },
    { sql: `SELECT verdict FROM verdicts WHERE ${pair.sql} ORDER BY position DESC LIMIT ${WINDOW}`, args: pair.args },
    { sql: `SELECT COALESCE(MAX(position), 0) AS newest FROM verdicts WHERE ${pair.sql}`, args: pair.args },
  ];
}

function trustFrom(agent: string, type: string, events: { rows: Record<string, unknown>[] }, window: { rows: Record<string, unknown>[] }, newest: { rows: Record<string, unknown>[] }, store: AppContext["store"]): TrustInput {
  // A pair with no events yet gets trustStream's name; one with events is in the stream they were read from.
  const stream = events.rows[0] ? String(events.rows[0].stream) : trustStream(agent, type);
  const loaded = store.loaded(stream, events as never);
  let state: TrustState | null = null;
  for (const e of loaded.events) state = evolveTrust(state, { type: e.type, data: e.data, at: e.meta.at } as TrustEvent);
  return {
    agent,
    type,
    stream,
    state,
    version: loaded.version,
    verdicts: window.rows.map((r) => r.verdict as Verdict),
    newest: Number(newest.rows[0]?.newest ?? 0),
  };
}

export async function loadTrustInput(ctx: AppContext, agent: string, type: string): Promise<TrustInput> {
  const [events, window, newest] = await ctx.db.snapshot(trustQueries({ sql: "?", args: [agent] }, { sql: "?", args: [type] }));
  return trustFrom(agent, type, events!, window!, newest!, ctx.store);
}

/**
 * A task and the trust of its (agent, type), in one snapshot (one request to a remote store): the
 * (agent, type) is read from the task's projection row in the same snapshot as its stream.
 */
export async function loadReviewInput(ctx: AppContext, id: number): Promise<ReviewInput> {
  const { streams, results } = await ctx.store.load(
    [taskStream(id)],
    trustQueries({ sql: "(SELECT agent FROM tasks WHERE id = ?)", args: [id] }, { sql: "(SELECT type FROM tasks WHERE id = ?)", args: [id] }),
  );
  const task = taskFrom(id, streams[0] as LoadedStream<TaskState>);
  const trust = trustFrom(task.state.agent, task.state.type, results[0]!, results[1]!, results[2]!, ctx.store);
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
  return {
    append: append(input.stream, input.version, events),
    expectations: events.length ? [] : [{ stream: input.stream, version: input.version }],
    guards: [
      unchanged(`the verdicts of ${agent} ${type}`, "SELECT COALESCE(MAX(position), 0) FROM verdicts WHERE agent = ? AND type = ?", [agent, type], input.newest),
    ],
  };
}

async function runTrust(ctx: AppContext, agent: string, type: string, command: (standing: TrustStanding) => TrustCommand, actor: string) {
  checkAgent(ctx.config, agent);
  checkType(ctx.config, type);
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
  /** Null while nothing was judged (n = 0): no rate, rather than 0 %. */
  approvalRate: number | null;
  sendBackRate: number | null;
  next: string;
  /** How often its results passed their checks, over the last 20 checked ones: information only, no effect on the tier. */
  checks: CheckPassRate;
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
        ...shownRates(standing),
        next: nextMove(history, defaultTier),
        checks: await checkPassRate(ctx.db, agent, type),
      };
    }),
  );
}
