import type { AppContext } from "../app/context.ts";
import { trustTable, type TrustRow } from "../app/trust.ts";
import type { Tier, Verdict } from "../domain/task/task.ts";
import type { TierChangedData } from "../domain/trust/aggregate.ts";
import { TRUST_WINDOW, trustNumbers, trustNumbersText } from "../domain/trust/trust.ts";

// The history behind each (agent, type)'s trust (DESIGN §5, §13): after each human verdict, the rolling
// approval and send-back rates as trust computed them then, and every tier change with its numbers (by
// trust, or by a person's pin). The trust page draws it; `nextMove` says what the next change needs.

/** A chart of more verdicts than this shows the latest ones; the rates are still computed over all. */
export const CHART_VERDICTS = 100;

export interface TrustPoint {
  /** 1 for the pair's first verdict. */
  index: number;
  verdict: Verdict;
  taskId: number;
  at: string;
  approvalRate: number;
  sendBackRate: number;
  n: number;
}

export interface TierMark {
  /** The verdicts the pair had when the tier changed (the change follows verdict `after`). */
  after: number;
  from: Tier;
  to: Tier;
  reason: "trust" | "override";
  /** The pin once the change was made (null: none). */
  pin: Tier | null;
  /** `approval: 93%, sendBack: 0%, n=15`: the numbers of that moment. */
  numbers: string;
  at: string;
}

export interface TrustHistory {
  row: TrustRow;
  /** Every verdict, oldest first (the chart shows the last CHART_VERDICTS). */
  points: TrustPoint[];
  marks: TierMark[];
}

export async function trustHistories(ctx: AppContext): Promise<TrustHistory[]> {
  const [rows, verdicts, changes] = await Promise.all([
    trustTable(ctx),
    ctx.db.query<{ agent: string; type: string; verdict: Verdict; task_id: number; at: string; position: number }>(
      "SELECT agent, type, verdict, task_id, at, position FROM verdicts ORDER BY position",
    ),
    ctx.db.query<{ data: string; at: string; position: number }>(
      "SELECT data, json_extract(meta, '$.at') AS at, position FROM events WHERE type = 'TierChanged' ORDER BY position",
    ),
  ]);
  const key = (agent: string, type: string) => JSON.stringify([agent, type]);
  const byPair = new Map<string, { points: TrustPoint[]; positions: number[]; marks: TierMark[] }>();
  const pair = (agent: string, type: string) => {
    const k = key(agent, type);
    let entry = byPair.get(k);
    if (!entry) byPair.set(k, (entry = { points: [], positions: [], marks: [] }));
    return entry;
  };
  for (const v of verdicts) {
    const entry = pair(v.agent, v.type);
    const newestFirst = [v.verdict, ...entry.points.slice(1 - TRUST_WINDOW).map((p) => p.verdict).reverse()];
    const numbers = trustNumbers(newestFirst);
    entry.points.push({ index: entry.points.length + 1, verdict: v.verdict, taskId: Number(v.task_id), at: v.at, ...numbers });
    entry.positions.push(Number(v.position));
  }
  for (const change of changes) {
    const d = JSON.parse(change.data) as TierChangedData;
    const entry = pair(d.agent, d.type);
    entry.marks.push({
      after: entry.positions.filter((p) => p < Number(change.position)).length,
      from: d.from,
      to: d.to,
      reason: d.reason,
      pin: d.pin,
      numbers: trustNumbersText(d),
      at: change.at,
    });
  }
  return rows.map((row) => {
    const entry = byPair.get(key(row.agent, row.type));
    return { row, points: entry?.points ?? [], marks: entry?.marks ?? [] };
  });
}
