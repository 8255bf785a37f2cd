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

/** A rate as people read it: 0.925 → "93%"; no rate at all (nothing judged yet) → "—". */
export function percent(rate: number | null): string {
  return rate === null ? "—" : `${Math.round(rate * 100)}%`;
}

/** The rates shown for numbers: none while nothing was judged (n = 0), since 0 % would say "all sent back". */
export function shownRates(numbers: TrustNumbers): { approvalRate: number | null; sendBackRate: number | null } {
  return numbers.n === 0 ? { approvalRate: null, sendBackRate: null } : { approvalRate: numbers.approvalRate, sendBackRate: numbers.sendBackRate };
}

/** The three numbers as DESIGN §5 writes them: `approval: 93%, sendBack: 0%, n=15` (`—` for a rate while n=0). */
export function trustNumbersText(numbers: TrustNumbers | { n: number; approvalRate: number | null; sendBackRate: number | null }): string {
  const none = numbers.n === 0;
  return `approval: ${percent(none ? null : numbers.approvalRate)}, sendBack: ${percent(none ? null : numbers.sendBackRate)}, n=${numbers.n}`;
}

/** The activity note of DESIGN §5, exactly: `Trust-based tier gate → quick (approval: 93%, sendBack: 0%, n=15)`. */
export function trustNote(from: Tier, to: Tier, numbers: TrustNumbers): string {
  return `Trust-based tier ${from} → ${to} (${trustNumbersText(numbers)})`;
}

/**
 * What would move the tier next, in words: how many more approvals (without a send-back) until a
 * promotion, and how few send-backs, among how many verdicts, would bring a demotion ("4 send-backs
 * among the next 9 verdicts": the window needs 10 verdicts before it can demote at all).
 */
export function nextMove(newestFirst: readonly Verdict[], defaultTier: Tier): string {
  const now = trustStanding(newestFirst, defaultTier).effective;
  const parts: string[] = [];
  const up = approvalsUntilPromotion(newestFirst, defaultTier, now);
  if (up !== null) parts.push(`${up} more approval${up === 1 ? "" : "s"} without a send-back to reach ${promote(now)}`);
  const down = sendBacksUntilDemotion(newestFirst, defaultTier, now);
  if (down !== null) {
    const { sendBacks, among } = down;
    const plural = sendBacks === 1 ? "" : "s";
    parts.push(
      sendBacks === among
        ? `${sendBacks} send-back${plural} in a row would drop it to ${demote(now)}`
        : `${sendBacks} send-back${plural} among the next ${among} verdicts would drop it to ${demote(now)}`,
    );
  }
  if (!parts.length) return now === promote(defaultTier) ? "at its highest tier" : `no change within ${TRUST_WINDOW} verdicts`;
  return parts.join("; ");
}

const rank = (tier: Tier) => TIER_ORDER.indexOf(tier);

function approvalsUntilPromotion(newestFirst: readonly Verdict[], defaultTier: Tier, now: Tier): number | null {
  let history = [...newestFirst];
  for (let step = 1; step <= TRUST_WINDOW; step++) {
    history = ["approved", ...history];
    if (rank(trustStanding(history, defaultTier).effective) > rank(now)) return step;
  }
  return null;
}

/**
 * The fewest next verdicts that can demote, and the fewest send-backs among them that do it (the
 * send-backs newest, where the send-back rate counts them).
 */
function sendBacksUntilDemotion(newestFirst: readonly Verdict[], defaultTier: Tier, now: Tier): { sendBacks: number; among: number } | null {
  for (let among = 1; among <= TRUST_WINDOW; among++) {
    for (let sendBacks = 1; sendBacks <= among; sendBacks++) {
      const next: Verdict[] = [...Array<Verdict>(sendBacks).fill("sent_back"), ...Array<Verdict>(among - sendBacks).fill("approved")];
      if (rank(trustStanding([...next, ...newestFirst], defaultTier).effective) < rank(now)) return { sendBacks, among };
    }
  }
  return null;
}
