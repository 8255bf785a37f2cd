import { assertNever, type EventEnvelope, type NewEvent } from "../events.ts";
import type { Tier } from "../task/task.ts";
import type { TrustStanding } from "./trust.ts";

// The trust aggregate of one (agent, type) (DESIGN §5): its stream records what a person pinned and
// every change of the trust-derived tier, so tier history is on record and can be pushed to chat.
// The standing itself (the numbers, promotion and demotion) is a pure function in trust.ts.

export interface TrustState {
  agent: string;
  type: string;
  pin: Tier | null;
  /** The tier trust last gave this (agent, type): the type default until the first change. */
  trustTier: Tier;
  updatedAt: string;
}

export interface TierChangedData {
  agent: string;
  type: string;
  from: Tier;
  to: Tier;
  reason: "trust" | "override";
  pin: Tier | null;
  trustTier: Tier;
  approvalRate: number;
  sendBackRate: number;
  n: number;
}

export type TrustEvent = EventEnvelope<"TierChanged", TierChangedData>;

export type TrustCommand =
  | { type: "PinTier"; tier: Tier; standing: TrustStanding }
  | { type: "ClearPin"; standing: TrustStanding }
  | { type: "ObserveTrust"; standing: TrustStanding };

/**
 * The stream of an (agent, type): `trust-<agent>-<type>`, with each `-` inside a name written `.`, so
 * (`a-b`, `c`) and (`a`, `b-c`) get streams of their own: names are letters, digits, `_` and `-`
 * (config's name rule), so a `.` can only be an encoded `-`. Names without `-` keep the stream name
 * they always had. A store from before this encoding may hold a dashed pair's history in its old
 * `trust-<agent>-<type>` stream; the command layer keeps using that one (see `trustStreamOf`).
 */
export function trustStream(agent: string, type: string): string {
  return `trust-${agent.replaceAll("-", ".")}-${type.replaceAll("-", ".")}`;
}

/** The name stores gave every trust stream before names with `-` were encoded: ambiguous for them. */
export function legacyTrustStream(agent: string, type: string): string {
  return `trust-${agent}-${type}`;
}

/** `state` is null until the stream exists; the standing carries the type default for that case. */
export function decideTrust(
  command: TrustCommand,
  state: TrustState | null,
  agent: string,
  type: string,
): NewEvent<"TierChanged", TierChangedData>[] {
  const { standing } = command;
  const pin = state?.pin ?? null;
  const trustTier = state?.trustTier ?? standing.defaultTier;
  const numbers = { approvalRate: standing.approvalRate, sendBackRate: standing.sendBackRate, n: standing.n };
  const event = (data: Omit<TierChangedData, "agent" | "type" | keyof typeof numbers>) => [
    { type: "TierChanged" as const, data: { agent, type, ...data, ...numbers } },
  ];
  switch (command.type) {
    case "PinTier":
      if (pin === command.tier) return [];
      return event({ from: pin ?? standing.effective, to: command.tier, reason: "override", pin: command.tier, trustTier: standing.effective });
    case "ClearPin":
      if (pin === null) return [];
      return event({ from: pin, to: standing.effective, reason: "override", pin: null, trustTier: standing.effective });
    case "ObserveTrust":
      if (standing.effective === trustTier) return [];
      return event({ from: trustTier, to: standing.effective, reason: "trust", pin, trustTier: standing.effective });
    default:
      return assertNever(command);
  }
}

export function evolveTrust(_state: TrustState | null, event: TrustEvent): TrustState {
  switch (event.type) {
    case "TierChanged":
      return {
        agent: event.data.agent,
        type: event.data.type,
        pin: event.data.pin,
        trustTier: event.data.trustTier,
        updatedAt: event.at,
      };
    default:
      return assertNever(event.type);
  }
}
