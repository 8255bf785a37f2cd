import { describe, expect, it } from "vitest";
import { tierAtDispatch } from "../../src/plan/dispatch.ts";
import type { Tier } from "../../src/domain/task/task.ts";
import { demote, nextMove, promote, trustNote, trustNumbers, trustStanding } from "../../src/domain/trust/trust.ts";
import { givenNight, limits, newestFirst, task } from "./plan-fixtures.ts";

describe("trust numbers (DESIGN §5)", () => {
  it("are zero without verdicts", () => {
    expect(trustNumbers([])).toEqual({ n: 0, approvalRate: 0, sendBackRate: 0 });
  });

  it("count n over the last 20 verdicts only", () => {
    expect(trustNumbers(newestFirst(["approved", 25])).n).toBe(20);
  });

  it("take the approval rate over the last 20, not older ones", () => {
    const history = newestFirst(["approved", 17], ["discarded", 3], ["approved", 5]);
    expect(trustNumbers(history)).toMatchObject({ n: 20, approvalRate: 0.85 });
  });

  it("take the send-back rate over the last 10 only", () => {
    const history = newestFirst(["sent_back", 3], ["approved", 7], ["sent_back", 10]);
    expect(trustNumbers(history)).toMatchObject({ n: 20, sendBackRate: 0.3, approvalRate: 7 / 20 });
  });

  it("divide send-backs by 10 even when fewer than 10 verdicts exist", () => {
    expect(trustNumbers(newestFirst(["sent_back", 2]))).toEqual({ n: 2, approvalRate: 0, sendBackRate: 0.2 });
  });

  it("count a discard in n but as neither an approval nor a send-back", () => {
    expect(trustNumbers(newestFirst(["approved", 3], ["discarded", 1]))).toEqual({ n: 4, approvalRate: 0.75, sendBackRate: 0 });
  });
});

describe("the effective tier", () => {
  it.each([
    ["gate", "quick"],
    ["quick", "auto"],
  ] as [Tier, Tier][])("promotes %s to %s at n = 15 with every verdict approved", (from, to) => {
    expect(trustStanding(newestFirst(["approved", 15]), from)).toMatchObject({ effective: to, movement: "promoted", defaultTier: from });
  });

  it("does not promote at n = 14, however good", () => {
    expect(trustStanding(newestFirst(["approved", 14]), "gate")).toMatchObject({ effective: "gate", movement: "default" });
  });

  it("does not promote at an approval rate of exactly 0.85", () => {
    const standing = trustStanding(newestFirst(["approved", 17], ["discarded", 3]), "gate");
    expect(standing).toMatchObject({ n: 20, approvalRate: 0.85, effective: "gate", movement: "default" });
  });

  it("promotes just above 0.85 (13 of 15)", () => {
    expect(trustStanding(newestFirst(["approved", 13], ["discarded", 2]), "gate").effective).toBe("quick");
  });

  it("promotes at 18 of 20", () => {
    expect(trustStanding(newestFirst(["approved", 18], ["discarded", 2]), "gate").effective).toBe("quick");
  });

  it.each([
    ["auto", "quick"],
    ["quick", "gate"],
  ] as [Tier, Tier][])("demotes %s to %s at n = 10 with 4 send-backs in the last 10", (from, to) => {
    const standing = trustStanding(newestFirst(["sent_back", 4], ["approved", 6]), from);
    expect(standing).toMatchObject({ effective: to, movement: "demoted", sendBackRate: 0.4 });
  });

  it("does not demote at a send-back rate of exactly 0.30", () => {
    const standing = trustStanding(newestFirst(["sent_back", 3], ["approved", 7]), "auto");
    expect(standing).toMatchObject({ sendBackRate: 0.3, effective: "auto", movement: "default" });
  });

  it("does not demote below n = 10, even when every verdict is a send-back", () => {
    expect(trustStanding(newestFirst(["sent_back", 9]), "auto").effective).toBe("auto");
  });

  it("moves one level only: a demoted auto stops at quick, a promoted gate stops at quick", () => {
    expect(trustStanding(newestFirst(["sent_back", 20]), "auto").effective).toBe("quick");
    expect(trustStanding(newestFirst(["approved", 20]), "gate").effective).toBe("quick");
  });

  it("stays at the ends of the ladder: auto cannot rise, gate cannot fall", () => {
    expect(trustStanding(newestFirst(["approved", 20]), "auto").effective).toBe("auto");
    expect(trustStanding(newestFirst(["sent_back", 20]), "gate").effective).toBe("gate");
    expect(promote("auto")).toBe("auto");
    expect(demote("gate")).toBe("gate");
  });

  it("forgets verdicts that fall out of the window", () => {
    const history = newestFirst(["approved", 20], ["sent_back", 20]);
    expect(trustStanding(history, "quick")).toMatchObject({ n: 20, approvalRate: 1, sendBackRate: 0, effective: "auto" });
  });

  it("takes a promotion away after three send-backs: hard to build, easy to lose", () => {
    const earned = newestFirst(["approved", 15]);
    expect(trustStanding(earned, "gate").effective).toBe("quick");
    expect(trustStanding([...newestFirst(["sent_back", 2]), ...earned], "gate").effective).toBe("quick");
    expect(trustStanding([...newestFirst(["sent_back", 3]), ...earned], "gate").effective).toBe("gate");
  });
});

describe("the trust note", () => {
  it("reads exactly as DESIGN §5 shows", () => {
    expect(trustNote("gate", "quick", { approvalRate: 14 / 15, sendBackRate: 0, n: 15 })).toBe(
      "Trust-based tier gate → quick (approval: 93%, sendBack: 0%, n=15)",
    );
  });

  it("rounds the percentages to whole numbers", () => {
    expect(trustNote("quick", "auto", { approvalRate: 13 / 15, sendBackRate: 0.1, n: 15 })).toBe(
      "Trust-based tier quick → auto (approval: 87%, sendBack: 10%, n=15)",
    );
  });
});

describe("the tier fixed at dispatch", () => {
  it("moves code from gate to quick after 14 approvals and 1 discard, with the seed's note", () => {
    const planned = givenNight({
      tasks: [task(20, { agent: "builder", type: "code" })],
      trust: [{ agent: "builder", type: "code", verdicts: newestFirst(["approved", 14], ["discarded", 1]) }],
    }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({
      tier: "quick",
      note: "Trust-based tier gate → quick (approval: 93%, sendBack: 0%, n=15)",
    });
  });

  it("drops an auto-default agent to quick after 4 send-backs in its last 10 verdicts", () => {
    const planned = givenNight({
      tasks: [task(20, { agent: "scout", type: "research" })],
      trust: [{ agent: "scout", type: "research", verdicts: newestFirst(["sent_back", 2], ["approved", 1], ["sent_back", 2], ["approved", 5]) }],
    }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({
      tier: "quick",
      note: "Trust-based tier auto → quick (approval: 60%, sendBack: 40%, n=10)",
    });
  });

  const promoted = newestFirst(["approved", 15]);

  it("uses the task's own pin over the (agent, type) pin and trust, without a note", () => {
    const input = { trust: new Map([["builder\u0000code", { pin: "auto" as Tier, verdicts: promoted }]]), limits: limits() };
    expect(tierAtDispatch(task(20, { tierPin: "gate" }), input)).toEqual({ tier: "gate", note: null });
  });

  it("uses the (agent, type) pin over trust, without a note", () => {
    const planned = givenNight({ tasks: [task(20)], trust: [{ agent: "builder", type: "code", pin: "auto", verdicts: promoted }] }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ tier: "auto", note: null });
  });

  it("gives no note when the pin happens to equal what trust would give", () => {
    const planned = givenNight({ tasks: [task(20)], trust: [{ agent: "builder", type: "code", pin: "quick", verdicts: promoted }] }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ tier: "quick", note: null });
  });

  it("gives no note when trust leaves the type default", () => {
    const planned = givenNight({ tasks: [task(20)], trust: [{ agent: "builder", type: "code", verdicts: newestFirst(["approved", 14]) }] }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ tier: "gate", note: null });
  });

  it("gives no note when a promotion from auto has nowhere to go", () => {
    const planned = givenNight({ tasks: [task(20, { type: "research" })], trust: [{ agent: "builder", type: "research", verdicts: promoted }] }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ tier: "auto", note: null });
  });

  it("keeps trust per (agent, type): another agent's or another type's record does not count", () => {
    const planned = givenNight({
      tasks: [task(20)],
      trust: [
        { agent: "writer", type: "code", verdicts: promoted },
        { agent: "builder", type: "content", verdicts: promoted },
      ],
    }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ tier: "gate", note: null });
  });

  it("moves from the configured type default", () => {
    const planned = givenNight({
      tasks: [task(20)],
      limits: { typeDefaults: { code: "quick" } },
      trust: [{ agent: "builder", type: "code", verdicts: promoted }],
    }).whenPlanned();
    expect(planned.dispatchOf(20)).toMatchObject({ tier: "auto", note: "Trust-based tier quick → auto (approval: 100%, sendBack: 0%, n=15)" });
  });
});

describe("what would move the tier next", () => {
  it("counts the approvals a new (agent, type) needs to be promoted", () => {
    expect(nextMove([], "gate")).toBe("15 more approvals without a send-back to reach quick");
  });

  it("names both directions when the tier can rise and fall", () => {
    expect(nextMove([], "quick")).toBe("15 more approvals without a send-back to reach auto; 4 send-backs among the next 10 verdicts would drop it to gate");
  });

  it("speaks of one approval in the singular", () => {
    expect(nextMove(newestFirst(["approved", 14]), "gate")).toBe("1 more approval without a send-back to reach quick");
  });

  it("counts the send-backs that would take a promotion away", () => {
    expect(nextMove(newestFirst(["approved", 15]), "gate")).toBe("3 send-backs in a row would drop it to gate");
  });

  it("counts the send-backs that would demote an auto default", () => {
    expect(nextMove(newestFirst(["approved", 6]), "auto")).toBe("4 send-backs in a row would drop it to quick");
  });

  it("says what really demotes: 4 send-backs among the next 9 verdicts, not 9 send-backs in a row", () => {
    expect(nextMove(newestFirst(["approved", 1]), "quick")).toBe(
      "14 more approvals without a send-back to reach auto; 4 send-backs among the next 9 verdicts would drop it to gate",
    );
  });

  it("counts the approvals that would restore a demoted tier", () => {
    // Demoted quick → gate by 4 send-backs in 10: seven approvals push one send-back out of the last 10.
    expect(nextMove(newestFirst(["sent_back", 4], ["approved", 6]), "quick")).toBe("7 more approvals without a send-back to reach quick");
  });
});
