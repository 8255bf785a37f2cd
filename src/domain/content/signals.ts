// DESIGN §6 item 7: a content task's prompt gets the engagement of the last 30 days, summarised per channel
// and per item (counts, totals, best and worst), most telling lines first: the prompt budget cuts from the end.

export interface SignalRow {
  itemId: number;
  title: string;
  channel: string;
  status: string;
  metric: string;
  value: number;
  at: string;
}

export const SIGNAL_WINDOW_DAYS = 30;
/** Item lines beyond this are counted, not listed: the prompt budget would cut them anyway. */
const MAX_ITEM_LINES = 40;

interface Tally {
  count: number;
  total: number;
}

/** Lines for the prompt's Signals section; empty when nothing was reported in the window. */
export function summariseSignals(rows: SignalRow[]): string[] {
  if (!rows.length) return [];
  const items = new Map<number, { title: string; channel: string; status: string; latest: string; metrics: Map<string, Tally> }>();
  for (const row of rows) {
    let item = items.get(row.itemId);
    if (!item) items.set(row.itemId, (item = { title: row.title, channel: row.channel, status: row.status, latest: row.at, metrics: new Map() }));
    if (row.at > item.latest) item.latest = row.at;
    const tally = item.metrics.get(row.metric) ?? { count: 0, total: 0 };
    item.metrics.set(row.metric, { count: tally.count + 1, total: tally.total + row.value });
  }

  const lines: string[] = [];
  const channels = [...new Set([...items.values()].map((i) => i.channel))].sort();
  for (const channel of channels) {
    const mine = [...items.entries()].filter(([, i]) => i.channel === channel);
    const signals = mine.reduce((n, [, i]) => n + [...i.metrics.values()].reduce((m, t) => m + t.count, 0), 0);
    const metrics = [...new Set(mine.flatMap(([, i]) => [...i.metrics.keys()]))].sort();
    const parts = metrics.map((metric) => {
      const totals = mine
        .filter(([, i]) => i.metrics.has(metric))
        .map(([id, i]) => ({ id, title: i.title, total: i.metrics.get(metric)!.total }))
        .sort((a, b) => b.total - a.total || a.id - b.id);
      const sum = totals.reduce((n, t) => n + t.total, 0);
      if (totals.length < 2) return `${metric} ${num(sum)}`;
      const best = totals[0]!;
      const worst = totals.at(-1)!;
      return `${metric} ${num(sum)} (best #${best.id} "${clip(best.title)}" ${num(best.total)}, worst #${worst.id} "${clip(worst.title)}" ${num(worst.total)})`;
    });
    lines.push(`${channel}: ${plural(mine.length, "item")}, ${plural(signals, "signal")}; ${parts.join("; ")}`);
  }

  const byRecency = [...items.entries()].sort(([a, x], [b, y]) => y.latest.localeCompare(x.latest) || a - b);
  for (const [id, item] of byRecency.slice(0, MAX_ITEM_LINES)) {
    const parts = [...item.metrics.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([metric, t]) => `${metric} ${num(t.total)} in ${plural(t.count, "signal")}`);
    lines.push(`#${id} "${clip(item.title)}" (${item.channel}, ${item.status}): ${parts.join(", ")}; last ${item.latest.slice(0, 10)}`);
  }
  if (byRecency.length > MAX_ITEM_LINES) lines.push(`(${byRecency.length - MAX_ITEM_LINES} more items with fewer recent signals)`);
  return lines;
}

function num(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

function plural(n: number, word: string): string {
  return `${num(n)} ${word}${n === 1 ? "" : "s"}`;
}

function clip(title: string): string {
  return title.length > 60 ? `${title.slice(0, 59)}…` : title;
}
