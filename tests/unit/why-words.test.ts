import { describe, expect, it } from "vitest";
import { clockTime, describeHold } from "../../src/plan/hold-words.ts";
import type { Hold } from "../../src/plan/holds.ts";
import { nightStart } from "../../src/plan/night.ts";
import { at, givenNight, running, task } from "./plan-fixtures.ts";

describe("a hold in words (cos why)", () => {
  it.each<[string, Hold, string]>([
    ["a blocker in review", { code: "blocked", waitingFor: [{ id: 12, status: "review" }] }, "waiting for #12 (in review)"],
    [
      "several open blockers",
      { code: "blocked", waitingFor: [{ id: 12, status: "review" }, { id: 13, status: "running" }] },
      "waiting for #12 (in review), #13 (running)",
    ],
    [
      "a blocker that ended",
      { code: "blocker_ended", ended: [{ id: 12, status: "discarded" }] },
      "held: #12 was discarded; cancel this task (cos task cancel 9) or change its blockers (cos task edit 9 --after none, or cos task edit 9 --after 12,13 to wait for others)",
    ],
    [
      "two blockers that ended",
      { code: "blocker_ended", ended: [{ id: 12, status: "cancelled" }, { id: 13, status: "failed" }] },
      "held: #12 was cancelled, #13 was failed; cancel this task (cos task cancel 9) or change its blockers (cos task edit 9 --after none, or cos task edit 9 --after 12,13 to wait for others)",
    ],
    ["a busy agent", { code: "agent_busy", agent: "builder", busyWith: 15 }, "builder is busy with #15"],
    ["a held area", { code: "area", area: "blog", heldBy: 15 }, 'area "blog" is held by #15'],
    ["a full cap", { code: "capacity", used: 3, max: 3 }, "3 of 3 slots in use"],
    ["no free runner", { code: "no_runner" }, "no runner has a free slot"],
    ["a paused resolver", { code: "paused" }, "the resolver is paused (cos resume)"],
    ["a spent budget", { code: "budget", detail: "5 of 5 dispatches tonight" }, "tonight's budget is spent: 5 of 5 dispatches tonight"],
    ["a usage limit", { code: "usage_limit", until: at("05:00") }, "the agent hit its usage limit; it runs again after 05:00"],
  ])("describes %s", (_, hold, words) => {
    expect(describeHold({ ...hold, taskId: 9 }, "UTC")).toBe(words);
  });

  const cooldown: Hold = { code: "cooldown", agent: "builder", finishedTask: 14, finishedAt: at("03:30"), mode: "sprint", until: at("03:40") };

  it("describes a cooldown with the finish time and the end of the wait", () => {
    expect(describeHold({ ...cooldown, taskId: 20 }, "UTC")).toBe("cooldown: builder finished #14 for this goal at 03:30; sprint mode waits until 03:40");
  });

  it("tells the times on the configured timezone's clock", () => {
    expect(describeHold({ ...cooldown, taskId: 20 }, "Europe/Berlin")).toBe("cooldown: builder finished #14 for this goal at 04:30; sprint mode waits until 04:40");
    expect(describeHold({ code: "usage_limit", until: at("05:00"), taskId: 20 }, "America/New_York")).toBe(
      "the agent hit its usage limit; it runs again after 00:00",
    );
  });

  it("names idle mode in an idle cooldown", () => {
    expect(describeHold({ ...cooldown, mode: "idle", until: at("04:30"), taskId: 20 }, "UTC")).toBe(
      "cooldown: builder finished #14 for this goal at 03:30; idle mode waits until 04:30",
    );
  });

  it("describes what the plan decided, in the words of §4", () => {
    const planned = givenNight({
      tasks: [
        task(20, { goalId: 3 }),
        task(21, { agent: "writer", blockedBy: [12] }),
        task(22, { agent: "editor", area: "blog" }),
        running(15, { agent: "designer", area: "blog" }),
        task(23, { agent: "designer" }),
      ],
      blockers: { 12: "review" },
      finished: [{ agent: "builder", goalId: 3, taskId: 14, at: at("03:30") }],
    }).whenPlanned();
    const words = (id: number) => {
      const hold = planned.holdOf(id);
      if (!hold) throw new Error(`#${id} was not held`);
      return describeHold({ ...hold, taskId: id }, "UTC");
    };
    expect(words(20)).toBe("cooldown: builder finished #14 for this goal at 03:30; sprint mode waits until 03:40");
    expect(words(21)).toBe("waiting for #12 (in review)");
    expect(words(22)).toBe('area "blog" is held by #15');
    expect(words(23)).toBe("designer is busy with #15");
  });
});

describe("clock times", () => {
  it("shows a 24-hour clock with midnight as 00", () => {
    expect(clockTime(at("00:05"), "UTC")).toBe("00:05");
    expect(clockTime(at("23:59"), "UTC")).toBe("23:59");
  });

  it("moves the clock to the timezone, across the day boundary", () => {
    expect(clockTime(at("03:30"), "America/Los_Angeles")).toBe("19:30");
    expect(clockTime(at("03:30"), "Asia/Kolkata")).toBe("09:00");
  });
});

describe("the start of the night (budget window)", () => {
  // Each behaviour with its cases: [now, the configured start, timezone, the night's start].
  const nights: Record<string, [string, string, string, string][]> = {
    "today's start when the clock has passed it": [["2026-11-24T23:00:00Z", "22:00", "UTC", "2026-11-24T22:00:00.000Z"]],
    "yesterday's start after midnight": [["2026-11-24T03:00:00Z", "22:00", "UTC", "2026-11-23T22:00:00.000Z"]],
    "now at the very minute the night starts": [["2026-11-24T22:00:00Z", "22:00", "UTC", "2026-11-24T22:00:00.000Z"]],
    "yesterday's start one minute before tonight's": [["2026-11-24T21:59:00Z", "22:00", "UTC", "2026-11-23T22:00:00.000Z"]],
    // Berlin is UTC+1 in November: 22:00 there is 21:00 UTC.
    "read on the local clock east of UTC": [
      ["2026-11-24T03:00:00Z", "22:00", "Europe/Berlin", "2026-11-23T21:00:00.000Z"],
      ["2026-11-23T21:30:00Z", "22:00", "Europe/Berlin", "2026-11-23T21:00:00.000Z"],
      ["2026-11-23T20:30:00Z", "22:00", "Europe/Berlin", "2026-11-22T21:00:00.000Z"],
    ],
    // New York is UTC-5 in November: 02:00 UTC on the 24th is 21:00 on the 23rd.
    "read on the local clock west of UTC, where the UTC date is already tomorrow": [
      ["2026-11-24T02:00:00Z", "20:00", "America/New_York", "2026-11-24T01:00:00.000Z"],
      ["2026-11-24T02:00:00Z", "22:00", "America/New_York", "2026-11-23T03:00:00.000Z"],
    ],
    "right with a half-hour offset": [["2026-11-24T03:00:00Z", "22:00", "Asia/Kolkata", "2026-11-23T16:30:00.000Z"]],
    // Berlin moves from CET to CEST on 29 March 2026; 22:00 on the 28th is still CET (21:00 UTC).
    "yesterday's start on the day the clocks go forward": [["2026-03-29T10:00:00Z", "22:00", "Europe/Berlin", "2026-03-28T21:00:00.000Z"]],
    // At 00:00 CEST on 30 March, the last 00:30 was 00:30 CET on the 29th (23:30 UTC on the 28th).
    "the start just before midnight on the day after the clocks went forward": [["2026-03-29T22:00:00Z", "00:30", "Europe/Berlin", "2026-03-28T23:30:00.000Z"]],
    // Berlin moves from CEST to CET on 25 October 2026. At 23:30 CET on the 25th, the last 23:45 was
    // on the 24th, still CEST: 21:45 UTC. Tonight's 23:45 (22:45 UTC) is still ahead.
    "yesterday's start on the day the clocks go back": [["2026-10-25T22:30:00Z", "23:45", "Europe/Berlin", "2026-10-24T21:45:00.000Z"]],
  };

  it.each(Object.entries(nights))("is %s", (_, cases) => {
    for (const [now, start, timeZone, expected] of cases) expect(nightStart(new Date(now), start, timeZone), `${start} in ${timeZone} at ${now}`).toBe(expected);
  });

  it("is never in the future and always reads the start time locally, hour by hour around DST changes", () => {
    const cases: [string, string[]][] = [
      ["Europe/Berlin", ["2026-03-29", "2026-10-25"]],
      ["America/New_York", ["2026-03-08", "2026-11-01"]],
      ["Australia/Sydney", ["2026-04-05", "2026-10-04"]],
    ];
    const wrong: string[] = [];
    for (const [timeZone, days] of cases) {
      for (const day of days) {
        const from = Date.parse(`${day}T00:00:00Z`) - 12 * 3600_000;
        for (let t = from; t <= from + 48 * 3600_000; t += 3600_000) {
          for (const hhmm of ["00:30", "07:30", "22:00", "23:45"]) {
            const now = new Date(t);
            const start = nightStart(now, hhmm, timeZone);
            const ms = Date.parse(start);
            const ok = ms <= t && t - ms < 25 * 3600_000 && clockTime(start, timeZone) === hhmm;
            if (!ok) wrong.push(`${timeZone} ${hhmm} at ${now.toISOString()} → ${start}`);
          }
        }
      }
    }
    // The first wrong start of each (timezone, time), so every case that breaks shows.
    const firstOfEach = wrong.filter((w, i) => wrong.findIndex((x) => x.split(" at ")[0] === w.split(" at ")[0]) === i);
    expect(firstOfEach, `${wrong.length} wrong night starts`).toEqual([]);
  });
});
