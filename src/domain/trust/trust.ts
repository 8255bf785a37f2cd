import { TIERS, type Tier, type Verdict } from "../task/task.ts";

// DESIGN §5. Trust is a pure function of the human verdicts of one (agent, type), newest first.

/** The tiers from the most review to the least: promotion moves right, demotion left. */
export const TIER_ORDER: readonly Tier[] = [...TIERS].reverse();

/** The verdicts trust looks at: the approval rate over the last 20, the send-back rate over the last 10. */
export const TRUST_WINDOW = 20;
export const SEND_BACK_WINDOW = 10;

export interface TrustNumbers {
  /** Verdicts in the window of the last 20. */
  n: number;
  /** approved / n over the last 20. */
  approvalRate: number;
  /** sent back / 10 over the last 10. */
  sendBackRate: number;
}

export interface TrustStanding extends TrustNumbers {
  defaultTier: Tier;
  effective: Tier;
  movement: "promoted" | "demoted" | "default";
}

export function trustNumbers(newestFirst: readonly Verdict[]): TrustNumbers {
  const window = newestFirst.slice(0, TRUST_WINDOW);
  const lastTen = newestFirst.slice(0, SEND_BACK_WINDOW);
  const n = window.length;
  return {
    n,
    approvalRate: n === 0 ? 0 : window.filter((v) => v === "approved").length / n,
    sendBackRate: lastTen.filter((v) => v === "sent_back").length / SEND_BACK_WINDOW,
  };
}

export function trustStanding(newestFirst: readonly Verdict[], defaultTier: Tier): TrustStanding {
  const numbers = trustNumbers(newestFirst);
  if (numbers.n >= 15 && numbers.approvalRate > 0.85) {
    return { ...numbers, defaultTier, effective: promote(defaultTier), movement: "promoted" };
  }
  if (numbers.n >= 10 && numbers.sendBackRate > 0.3) {
    return { ...numbers, defaultTier, effective: demote(defaultTier), movement: "demoted" };
  }
  return { ...numbers, defaultTier, effective: defaultTier, movement: "default" };
}

/** A type's tier before any trust moves it (DESIGN §5): the configured default, gate for a type without one. */
export function defaultTierOf(type: string, defaults: Readonly<Record<string, Tier>>): Tier {
  return defaults[type] ?? "gate";
}

export function promote(tier: Tier): Tier {
  return TIER_ORDER[Math.min(TIER_ORDER.indexOf(tier) + 1, TIER_ORDER.length - 1)]!;
}

export function demote(tier: Tier): Tier {
  return TIER_ORDER[Math.max(TIER_ORDER.indexOf(tier) - 1, 0)]!;
}

/** A rate as people read it: 0.925 → "93%". */
export function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

/** The three numbers as DESIGN §5 writes them: `approval: 93%, sendBack: 0%, n=15`. */
export function trustNumbersText(numbers: TrustNumbers): string {
  return `approval: ${percent(numbers.approvalRate)}, sendBack: ${percent(numbers.sendBackRate)}, n=${numbers.n}`;
}

/** The activity note of DESIGN §5, exactly: `Trust-based tier gate → quick (approval: 93%, sendBack: 0%, n=15)`. */
export function trustNote(from: Tier, to: Tier, numbers: TrustNumbers): string {
  return `Trust-based tier ${from} → ${to} (${trustNumbersText(numbers)})`;
}

/**
 * What would move the tier next, in words: how many more approvals (without a send-back) until a
 * promotion, and how many send-backs in a row would bring a demotion.
 */
export function nextMove(newestFirst: readonly Verdict[], defaultTier: Tier): string {
  const now = trustStanding(newestFirst, defaultTier).effective;
  const parts: string[] = [];
  const up = stepsUntil(newestFirst, defaultTier, "approved", (t) => TIER_ORDER.indexOf(t) > TIER_ORDER.indexOf(now));
  if (up !== null) parts.push(`${up} more approval${up === 1 ? "" : "s"} without a send-back to reach ${promote(now)}`);
  const down = stepsUntil(newestFirst, defaultTier, "sent_back", (t) => TIER_ORDER.indexOf(t) < TIER_ORDER.indexOf(now));
  if (down !== null) parts.push(`${down} send-back${down === 1 ? "" : "s"} in a row would drop it to ${demote(now)}`);
  if (!parts.length) return now === promote(defaultTier) ? "at its highest tier" : `no change within ${TRUST_WINDOW} verdicts`;
  return parts.join("; ");
}

function stepsUntil(
  newestFirst: readonly Verdict[],
  defaultTier: Tier,
  add: Verdict,
  reached: (tier: Tier) => boolean,
): number | null {
  let history = [...newestFirst];
  for (let step = 1; step <= TRUST_WINDOW; step++) {
    history = [add, ...history];
    if (reached(trustStanding(history, defaultTier).effective)) return step;
  }
  return null;
}
