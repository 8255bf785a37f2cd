import { percent } from "../../src/domain/trust/trust.ts";
import { CHART_VERDICTS, type TierMark, type TrustHistory } from "../../src/pages/trust-history.ts";
import { Layout, type Tabs } from "./layout.tsx";

// Trust per agent × type (DESIGN §5): a chart drawn on the server as SVG of the rolling approval and
// send-back rates after each verdict, with the thresholds that move the tier and every tier change
// marked with its numbers; the pin when there is one, and what the next change needs.

export function TrustView(props: { histories: TrustHistory[]; tabs: Tabs; timeLabel: (iso: string) => string }) {
  return (
    <Layout title="Trust" tabs={props.tabs}>
      <h1>Trust</h1>
      <p class="meta">
        From the last 20 human verdicts of each agent and type: over 85% approved (with at least 15) moves the tier up one level; more than 3
        send-backs in the last 10 (with at least 10 verdicts) moves it down.
      </p>
      {props.histories.length ? null : <p class="muted">No agent has tasks yet.</p>}
      {props.histories.map((h) => (
        <PairHistory history={h} timeLabel={props.timeLabel} />
      ))}
    </Layout>
  );
}

function PairHistory({ history, timeLabel }: { history: TrustHistory; timeLabel: (iso: string) => string }) {
  const { row, points, marks } = history;
  return (
    <section>
      <h2>
        {row.agent} · {row.type}
      </h2>
      <p class="meta">
        <span class="chip">tier {row.tierUsed}</span> default {row.defaultTier}
        {row.pin ? ` · pinned at ${row.pin} (wins over trust until cleared)` : row.effective !== row.defaultTier ? ` · trust moved it to ${row.effective}` : ""}
      </p>
      <p class="meta">
        now: approval {percent(row.approvalRate)}, send-back {percent(row.sendBackRate)}, n={row.n}
      </p>
      {points.length > 1 ? (
        <Chart history={history} />
      ) : (
        <p class="muted">{points.length ? `1 verdict so far: ${points[0]!.verdict.replace("_", " ")}.` : "No verdicts yet."}</p>
      )}
      <p>
        <b>Next:</b> {row.next}
      </p>
      {marks.length ? (
        <ul class="timeline">
          {marks.map((m) => (
            <li>
              <div class="meta">
                after verdict {m.after} · {timeLabel(m.at)}
              </div>
              <div>{markWords(m)}</div>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function markWords(m: TierMark): string {
  if (m.reason === "trust") return `${m.from} → ${m.to} by trust (${m.numbers})`;
  return m.pin ? `pinned at ${m.pin} by a person (was ${m.from}; ${m.numbers})` : `pin cleared by a person: ${m.from} → ${m.to} (${m.numbers})`;
}

const W = 360;
const H = 200;
const LEFT = 38;
const RIGHT = 10;
const TOP = 34;
const BOTTOM = H - 30;

/** The rates after each verdict as two lines over 0–100%, the thresholds dashed, tier changes as marks. */
export function Chart({ history }: { history: TrustHistory }) {
  const all = history.points;
  const points = all.slice(-CHART_VERDICTS);
  const first = points[0]!.index;
  const last = points.at(-1)!.index;
  const span = Math.max(1, last - first);
  const x = (index: number) => round(points.length === 1 ? (LEFT + W - RIGHT) / 2 : LEFT + ((index - first) / span) * (W - LEFT - RIGHT));
  const y = (rate: number) => round(TOP + (1 - rate) * (BOTTOM - TOP));
  const line = (rate: (p: (typeof points)[number]) => number) => points.map((p) => `${x(p.index)},${y(rate(p))}`).join(" ");
  const step = points.length > 1 ? (W - LEFT - RIGHT) / span : 8;
  const tick = Math.max(2, Math.min(8, step * 0.7));
  const marks = history.marks.filter((m) => m.after >= first && m.after <= last);
  const label = `${history.row.agent} ${history.row.type}: approval and send-back rates over ${all.length} verdicts, ${history.marks.length} tier changes`;
  return (
    <>
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
        <title>{label}</title>
        {[0, 0.5, 1].map((r) => (
          <>
            <line class="grid" x1={LEFT} x2={W - RIGHT} y1={y(r)} y2={y(r)} />
            <text x={LEFT - 4} y={y(r) + 3} text-anchor="end">
              {percent(r)}
            </text>
          </>
        ))}
        <line class="limit approval" x1={LEFT} x2={W - RIGHT} y1={y(0.85)} y2={y(0.85)} />
        <line class="limit sendback" x1={LEFT} x2={W - RIGHT} y1={y(0.3)} y2={y(0.3)} />
        {marks.map((m, i) => {
          const mx = x(m.after);
          const anchor = mx > W * 0.6 ? "end" : "start";
          const ty = i % 2 === 0 ? 12 : 24;
          return (
            <>
              <line class={`mark ${m.reason}`} x1={mx} x2={mx} y1={TOP - 6} y2={BOTTOM} />
              <text class="marklabel" x={anchor === "end" ? mx - 3 : mx + 3} y={ty} text-anchor={anchor}>
                {`${m.from}→${m.to} ${m.numbers.replace("approval: ", "").replace("sendBack: ", "")}`}
              </text>
            </>
          );
        })}
        <polyline class="approval" points={line((p) => p.approvalRate)} />
        <polyline class="sendback" points={line((p) => p.sendBackRate)} />
        {points.map((p) => (
          <rect class={`v-${p.verdict}`} x={round(x(p.index) - tick / 2)} y={BOTTOM + 5} width={round(tick)} height={7} />
        ))}
        <text x={LEFT} y={H - 4}>
          {`#${first}`}
        </text>
        <text x={W - RIGHT} y={H - 4} text-anchor="end">
          {`verdict #${last}`}
        </text>
      </svg>
      <div class="legend">
        <span>
          <b class="sw-ok" />
          approval (last 20)
        </span>
        <span>
          <b class="sw-bad" />
          send-back (last 10)
        </span>
        <span>dashed: 85% and 30%</span>
        <span>ticks: each verdict</span>
        {all.length > points.length ? <span>the last {points.length} of {all.length} verdicts</span> : null}
      </div>
    </>
  );
}

const round = (n: number) => Math.round(n * 10) / 10;
