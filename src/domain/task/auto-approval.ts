import type { Tier } from "./task.ts";

// DESIGN §5: an item in review at tier auto is approved on its own some hours after its result
// (18 by default), a quick one later (32) and flagged for a spot-check, a gate item never. DESIGN §14: nor
// one whose checks failed, whatever its tier. The plan acts on it; cos why and the review card tell it.

export interface AutoApproveHours {
  auto: number;
  quick: number;
}

/** An item in review as the timer sees it: its tier, when its result came, and whether its checks failed. */
export interface InReview {
  tier: Tier;
  resultAt: string;
  checksFailed: boolean;
}

const HOUR = 3600_000;

/** The tier an item in review is judged at: the one fixed at its dispatch, gate when it has none. */
export function reviewTier(dispatchTier: Tier | null): Tier {
  return dispatchTier ?? "gate";
}

/** When an item is approved on its own (epoch ms); null when never: tier gate, or a failed check. */
export function autoApprovalDue(item: InReview, hours: AutoApproveHours): number | null {
  if (item.tier === "gate" || item.checksFailed) return null;
  return Date.parse(item.resultAt) + hours[item.tier] * HOUR;
}

/** An item its tier would approve on its own, kept for a person because a check failed. */
export function keptForFailedChecks(item: Pick<InReview, "tier" | "checksFailed">): boolean {
  return item.tier !== "gate" && item.checksFailed;
}

/** A quick item approved on its own is flagged for a person to spot-check. */
export function spotCheckOf(tier: Tier): boolean {
  return tier === "quick";
}
