import { describe, expect, it } from "vitest";
import { CoalescedRuns } from "../../src/shared/coalesced-runs.ts";

// The resolver loop's passes and a chat inbox's handling share this: one run at a time, requests made
// during a run folded into one more run right after it.

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe("CoalescedRuns", () => {
  it("folds any number of requests during a run into one more run, and answers each caller after the run that covers it", async () => {
    const gates = [gate(), gate()];
    let runs = 0;
    const jobs = new CoalescedRuns(async () => {
      await gates[runs++]!.opened;
    }, () => false);
    const first = jobs.request();
    const during = [jobs.request(), jobs.request(), jobs.request()];
    let answered = 0;
    for (const p of [first, ...during]) void p.then(() => answered++);
    gates[0]!.open();
    await Promise.resolve();
    await Promise.resolve();
    expect(runs).toBe(2);
    expect(answered).toBe(0);
    gates[1]!.open();
    await Promise.all([first, ...during]);
    expect(runs).toBe(2);
    expect(jobs.underWay).toBeNull();
  });

  it("a request after a round ended starts a new round at once", async () => {
    let runs = 0;
    const jobs = new CoalescedRuns(async () => {
      runs++;
    }, () => false);
    await jobs.request();
    await jobs.request();
    expect(runs).toBe(2);
  });

  it("runs again while a run leaves work over, until stopped", async () => {
    let runs = 0;
    let stop = false;
    const jobs = new CoalescedRuns(async () => {
      runs++;
      if (runs === 3) stop = true;
      return true;
    }, () => stop);
    await jobs.request();
    expect(runs).toBe(3);
  });

  it("a run that throws ends the round and its callers get the error; the next request runs again", async () => {
    let fail = true;
    const jobs = new CoalescedRuns(async () => {
      if (fail) throw new Error("store away");
    }, () => false);
    await expect(jobs.request()).rejects.toThrow("store away");
    fail = false;
    await expect(jobs.request()).resolves.toBeUndefined();
  });
});
