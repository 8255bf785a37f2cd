import {
  decideTrust,
  evolveTrust,
  legacyTrustStream,
  trustStream,
  type TrustCommand,
  type TrustEvent,
  type TrustState,
} from "../domain/trust/aggregate.ts";
import { defaultTierOf, nextMove, shownRates, trustStanding, type TrustStanding } from "../domain/trust/trust.ts";
import type { Tier, Verdict } from "../domain/task/task.ts";
import { verdictWindow } from "../plan/verdicts.ts";
import { checkPassRate, type CheckPassRate } from "./check-rate.ts";
import { checkAgent, checkType } from "../config/config.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf } from "./execute.ts";
import { readStreamIn, type StreamAppend } from "../store/event-store.ts";
import type { Tx } from "../store/db.ts";

/**
 * The stream an (agent, type) lives in. A pair with `-` in a name that already has a stream keeps it,
 * whatever it is called (stores from before `trustStream` encoded `-` named it `trust-<agent>-<type>`),
 * so its pin and history carry on without a migration; the trust table records each pair's stream.
 * Where two pairs once shared such a stream, the one whose change came last keeps it and the other
 * starts a stream of its own.
 */
export async function trustStreamOf(tx: Tx, agent: string, type: string): Promise<string> {
  const stream = trustStream(agent, type);
  if (stream === legacyTrustStream(agent, type)) return stream;
  const row = await tx.execute({ sql: "SELECT stream FROM trust WHERE agent = ? AND type = ?", args: [agent, type] });
  return row.rows[0] ? String(row.rows[0].stream) : stream;
}

async function loadTrust(tx: Tx, stream: string): Promise<{ state: TrustState | null; version: number }> {
  const events = await readStreamIn(tx, stream);
  let state: TrustState | null = null;
  for (const e of events) state = evolveTrust(state, { type: e.type, data: e.data, at: e.meta.at } as TrustEvent);
  return { state, version: events.length };
}

/**
 * The trust stream's share of a decision: a TierChanged when the command moves the tier, else nothing.
 * Read inside the caller's write transaction: two verdicts at once on one (agent, type) must each
 * see the other, or a tier change both together cause would be missed.
 */
export async function trustAppendIn(
  tx: Tx,
  ctx: AppContext,
  agent: string,
  type: string,
  command: (standing: TrustStanding) => TrustCommand,
  extra: Verdict[] = [],
): Promise<StreamAppend> {
  const history = [...extra, ...(await verdictWindow(tx, agent, type))];
  const standing = trustStanding(history, defaultTierOf(type, ctx.config.review.defaults));
  const stream = await trustStreamOf(tx, agent, type);
  const { state, version } = await loadTrust(tx, stream);
  return append(stream, version, decideTrust(command(standing), state, agent, type));
}

async function runTrust(ctx: AppContext, agent: string, type: string, command: (standing: TrustStanding) => TrustCommand, actor: string) {
  checkAgent(ctx.config, agent);
  checkType(ctx.config, type);
  const meta = metaOf(ctx, actor);
  return ctx.store.transaction(async (tx) => {
    const trust = await trustAppendIn(tx, ctx, agent, type, command);
    if (!trust.events.length) return { changed: false };
    await ctx.store.appendIn(tx, [trust], meta);
    return { changed: true };
  });
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
  return Promise.all(
    pairs.map(async ({ agent, type, pin }) => {
      const history = await verdictWindow(ctx.db, agent, type);
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
