import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Tier, Verdict } from "../../src/domain/task/task.ts";
import {
  decideTrust,
  evolveTrust,
  legacyTrustStream,
  trustStream,
  type TierChangedData,
  type TrustCommand,
  type TrustEvent,
  type TrustState,
} from "../../src/domain/trust/aggregate.ts";
import { trustStanding, type TrustStanding } from "../../src/domain/trust/trust.ts";
import { META, minutesAfterStart, specFor } from "./given.ts";
import { newestFirst } from "./plan-fixtures.ts";

const givenTrust = specFor<TrustCommand, TrustState, TrustEvent>({
  decide: (command, state) => decideTrust(command, state, "builder", "code"),
  evolve: evolveTrust,
});

/** builder's standing on code (default gate) after these verdicts, newest first. */
const standing = (verdicts: Verdict[], defaultTier: Tier = "gate"): TrustStanding => trustStanding(verdicts, defaultTier);
const atDefault = standing(newestFirst(["approved", 5]));
const promoted = standing(newestFirst(["approved", 14], ["discarded", 1]));
const lostIt = standing(newestFirst(["sent_back", 3], ["approved", 14], ["discarded", 1]));

const observe = (s: TrustStanding): TrustCommand => ({ type: "ObserveTrust", standing: s });
const pin = (tier: Tier, s: TrustStanding = atDefault): TrustCommand => ({ type: "PinTier", tier, standing: s });
const clear = (s: TrustStanding = atDefault): TrustCommand => ({ type: "ClearPin", standing: s });

function tierChanged(data: Partial<TierChangedData>, at = minutesAfterStart(0)): TrustEvent {
  return {
    type: "TierChanged",
    data: { agent: "builder", type: "code", from: "gate", to: "quick", reason: "trust", pin: null, trustTier: "quick", approvalRate: 1, sendBackRate: 0, n: 15, ...data },
    at,
  };
}

/** The decider's answer when it records a change: one TierChanged of builder's code, with these fields. */
const recordsChange = (data: Omit<TierChangedData, "agent" | "type">) => [{ type: "TierChanged", data: { agent: "builder", type: "code", ...data } }];

const trustRose = () => tierChanged({ from: "gate", to: "quick", reason: "trust", pin: null, trustTier: "quick" });
const pinnedAuto = () => tierChanged({ from: "gate", to: "auto", reason: "override", pin: "auto", trustTier: "gate" });

describe("observing trust after a verdict", () => {
  it("records nothing while trust leaves the type default", () => {
    givenTrust([]).when(observe(atDefault)).thenNothing();
  });

  it("records a trust change with from, to and the three numbers", () => {
    givenTrust([]).when(observe(promoted)).then(recordsChange({ from: "gate", to: "quick", reason: "trust", pin: null, trustTier: "quick", approvalRate: 14 / 15, sendBackRate: 0, n: 15 }));
  });

  it("records nothing when the tier trust gives is the one already recorded", () => {
    givenTrust([trustRose()]).when(observe(promoted)).thenNothing();
  });

  it("records the fall back to the default when trust is lost", () => {
    givenTrust([trustRose()]).when(observe(lostIt)).then(recordsChange({ from: "quick", to: "gate", reason: "trust", pin: null, trustTier: "gate", approvalRate: 14 / 18, sendBackRate: 0.3, n: 18 }));
  });

  it("records a trust change under a pin and keeps the pin", () => {
    givenTrust([pinnedAuto()])
      .when(observe(promoted))
      .then([{ type: "TierChanged", data: expect.objectContaining({ from: "gate", to: "quick", reason: "trust", pin: "auto", trustTier: "quick" }) }]);
  });

  it("remembers the new trust tier so the next verdict does not repeat the change", () => {
    const state = givenTrust([]).when(observe(promoted)).thenState();
    expect(state).toEqual({ agent: "builder", type: "code", pin: null, trustTier: "quick", updatedAt: META.at });
    givenTrust([trustRose()]).when(observe(standing(newestFirst(["approved", 16])))).thenNothing();
  });
});

describe("pinning a tier", () => {
  it("records an override from the trust tier to the pin", () => {
    givenTrust([]).when(pin("auto", promoted)).then(recordsChange({ from: "quick", to: "auto", reason: "override", pin: "auto", trustTier: "quick", approvalRate: 14 / 15, sendBackRate: 0, n: 15 }));
  });

  it("records nothing when the same tier is pinned again", () => {
    givenTrust([pinnedAuto()]).when(pin("auto")).thenNothing();
  });

  it("records a change of pin from the old pin to the new one", () => {
    givenTrust([pinnedAuto()])
      .when(pin("gate"))
      .then([{ type: "TierChanged", data: expect.objectContaining({ from: "auto", to: "gate", reason: "override", pin: "gate" }) }]);
  });

  it("keeps the pin in the state", () => {
    expect(givenTrust([]).when(pin("quick")).thenState()).toMatchObject({ pin: "quick", trustTier: "gate" });
  });
});

describe("clearing a pin", () => {
  it("records nothing when there is no pin", () => {
    givenTrust([]).when(clear()).thenNothing();
    givenTrust([trustRose()]).when(clear(promoted)).thenNothing();
  });

  it("records an override from the pin back to the trust tier", () => {
    givenTrust([pinnedAuto()]).when(clear(promoted)).then(recordsChange({ from: "auto", to: "quick", reason: "override", pin: null, trustTier: "quick", approvalRate: 14 / 15, sendBackRate: 0, n: 15 }));
  });

  it("leaves no pin in the state", () => {
    expect(givenTrust([pinnedAuto()]).when(clear()).thenState()).toMatchObject({ pin: null, trustTier: "gate" });
  });

  it("records nothing for a second clear", () => {
    const cleared = tierChanged({ from: "auto", to: "gate", reason: "override", pin: null, trustTier: "gate" }, minutesAfterStart(1));
    givenTrust([pinnedAuto(), cleared]).when(clear()).thenNothing();
  });
});

describe("the trust stream", () => {
  it("is named by agent and type", () => {
    expect(trustStream("builder", "code")).toBe("trust-builder-code");
  });

  it("gives (a-b, c) and (a, b-c) streams of their own", () => {
    expect(trustStream("a-b", "c")).toBe("trust-a.b-c");
    expect(trustStream("a", "b-c")).toBe("trust-a-b.c");
    expect(legacyTrustStream("a-b", "c")).toBe(legacyTrustStream("a", "b-c"));
  });

  it("names every two pairs of config names apart, and keeps the old name of pairs without '-'", () => {
    // Config's name rule over a small alphabet, so that pairs which split one string differently come up often.
    const name = fc.stringMatching(/^[ab0_][ab0_-]{0,5}$/).filter((n) => /^[a-z0-9]/i.test(n));
    fc.assert(
      fc.property(name, name, name, name, (a1, t1, a2, t2) => {
        if (a1 !== a2 || t1 !== t2) expect(trustStream(a1, t1)).not.toBe(trustStream(a2, t2));
        if (!`${a1}${t1}`.includes("-")) expect(trustStream(a1, t1)).toBe(legacyTrustStream(a1, t1));
      }),
      { numRuns: 2000 },
    );
    // The pairs the old name confused, side by side.
    const dashed = ["a", "a-b", "a-b-c", "b", "b-c", "c", "a-", "a--b"];
    const streams = new Set(dashed.flatMap((agent) => dashed.map((type) => trustStream(agent, type))));
    expect(streams.size).toBe(dashed.length * dashed.length);
  });

  it("takes its state from the latest change", () => {
    const state = [pinnedAuto(), tierChanged({ reason: "trust", pin: "auto", trustTier: "quick" }, minutesAfterStart(9))].reduce<TrustState | null>(
      evolveTrust,
      null,
    );
    expect(state).toEqual({ agent: "builder", type: "code", pin: "auto", trustTier: "quick", updatedAt: minutesAfterStart(9) });
  });
});
