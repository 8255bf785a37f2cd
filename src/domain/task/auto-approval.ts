import type { Tier } from "./task.ts";

// DESIGN §5: an item in review at tier auto is approved on its own some hours after its result
// (18 by default), a quick one later (32) and flagged for a spot-check, a gate item never. The plan
// acts on it; cos why and the review card tell it.

export interface AutoApproveHours {
  auto: number;
  quick: number;
}

const HOUR = 3600_000;

/** The tier an item in review is judged at: the one fixed at its dispatch, gate when it has none. */
export function reviewTier(dispatchTier: Tier | null): Tier {
  return dispatchTier ?? "gate";
}

/** When an item whose result came at `resultAt` is approved on its own (epoch ms); null for gate. */
export function autoApprovalDue(tier: Tier, resultAt: string, hours: AutoApproveHours): number | null {
  return tier === "gate" ? null : Date.parse(resultAt) + hours[tier] * HOUR;
}

/** A quick item approved on its own is flagged for a person to spot-check. */
export function spotCheckOf(tier: Tier): boolean {
  return tier === "quick";
}
