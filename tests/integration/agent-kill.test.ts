import { readFileSync, statSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { processGroupAlive, runAgent } from "../../runner/agent.ts";
import { agent, logged, printedPid, processAlive, tempRun } from "../fixtures/agents/harness.ts";
import { ManualTimers } from "../timers.ts";

// Timeouts, aborts and stray processes (DESIGN §7): the whole process group gets SIGTERM, then SIGKILL after the
// grace period, and nothing of a run outlives it. The agents are real processes; the timeout, the grace period and
// the wait for the pipes run on ManualTimers, so a test reaches each of them when the agent is where it should be,
// and durationMs is time on those timers: exactly the waits the run went through.

let run: ReturnType<typeof tempRun>;
beforeEach(() => {
  run = tempRun();
});
afterEach(() => run.cleanup());

describe("at the timeout", () => {
  it("stops an agent that honours SIGTERM without waiting for the grace period", async () => {
    const timers = new ManualTimers();
    const running = runAgent(run.spec({ argv: ["node", agent("sleeps.js")], timeoutMs: 300, graceMs: 5_000 }), { timers });
    await logged(run.runDir, "working");
    timers.advance(300);
    const result = await running;
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGTERM" });
    // Over at the timeout: none of the 5 s grace period passed, and its timer is gone.
    expect(result.durationMs).toBe(300);
    expect(timers.delays()).toEqual([]);
    expect(result.output).toBe("working\n");
  });

  it("sends SIGTERM first, then SIGKILL to an agent that ignores it", async () => {
    const timers = new ManualTimers();
    const running = runAgent(run.spec({ argv: ["node", agent("ignores-term.js")], timeoutMs: 1_000, graceMs: 300 }), { timers });
    // It prints once its SIGTERM handler is installed.
    await logged(run.runDir, "running as");
    timers.advance(1_000);
    await logged(run.runDir, "got SIGTERM, carrying on");
    timers.advance(300);
    const result = await running;
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGKILL" });
    expect(result.output).toContain("got SIGTERM, carrying on");
    expect(result.durationMs).toBe(1_000 + 300);
    expect(processGroupAlive(result.pid!)).toBe(false);
  });

  it("leaves no process of the run alive once the grace period is over, grandchildren included", async () => {
    const timeoutMs = 300;
    const graceMs = 300;
    const timers = new ManualTimers();
    let leader = 0;
    const running = runAgent(run.spec({ argv: [agent("grandchild.sh")], timeoutMs, graceMs }), { timers, onSpawn: (pid) => (leader = pid) });
    await logged(run.runDir, "grandchild");
    const groupAliveDuringRun = processGroupAlive(leader);
    timers.advance(timeoutMs);
    timers.advance(graceMs);
    const result = await running;
    expect(groupAliveDuringRun).toBe(true);
    expect(result).toMatchObject({ timedOut: true, signal: "SIGKILL" });
    // Back when the grace period ran out, with no timer of its own left to wait for.
    expect(result.durationMs).toBe(timeoutMs + graceMs);
    expect(timers.delays()).toEqual([]);
    const grandchild = printedPid(result.output, "grandchild");
    expect(processGroupAlive(result.pid!)).toBe(false);
    expect(processAlive(grandchild)).toBe(false);
    expect(processAlive(result.pid!)).toBe(false);
  });

  it("stops on abort like at the timeout, without calling it a timeout", async () => {
    const timers = new ManualTimers();
    const controller = new AbortController();
    const running = runAgent(run.spec({ argv: ["node", agent("sleeps.js")], graceMs: 300 }), { timers, signal: controller.signal });
    await logged(run.runDir, "working");
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ timedOut: false, exitCode: null, signal: "SIGTERM" });
    // No timer had to run out: neither the timeout nor the grace period.
    expect(result.durationMs).toBe(0);
  });

  it("stops at once when the signal is already aborted", async () => {
    const timers = new ManualTimers();
    const result = await runAgent(run.spec({ argv: ["node", agent("sleeps.js")], graceMs: 300 }), { timers, signal: AbortSignal.abort() });
    expect(result).toMatchObject({ timedOut: false, exitCode: null, signal: "SIGTERM" });
    expect(result.durationMs).toBe(0);
  });
});

describe("after the agent exits", () => {
  it("kills what it left running in its group, at once", async () => {
    const timers = new ManualTimers();
    const result = await runAgent(run.spec({ argv: [agent("leaves-grandchild.sh")], graceMs: 5_000 }), { timers });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    // At once: without a grace period, or any other timer, running out.
    expect(result.durationMs).toBe(0);
    expect(processAlive(printedPid(result.output, "grandchild"))).toBe(false);
    expect(processGroupAlive(result.pid!)).toBe(false);
  });

  it("stops reading after a while when a process that left the group keeps its output open", async () => {
    // A caveat, not a promise: setsid takes a process out of the group, and out of reach of the kill.
    let escaped: number | null = null;
    try {
      const timers = new ManualTimers();
      const running = runAgent(run.spec({ argv: [agent("escapes-group.sh")], graceMs: 300 }), { timers });
      // The group is gone and the run waits up to 2 s for its pipes to close: let those 2 s pass.
      await timers.waitUntilPending(2_000, "the wait for the pipes to close");
      timers.advance(2_000);
      const result = await running;
      escaped = printedPid(result.output, "escaped");
      expect(result.exitCode).toBe(0);
      // It stopped reading at the end of that wait, long before the run's timeout.
      expect(result.durationMs).toBe(2_000);
      expect(readFileSync(result.logPath, "utf8")).toContain("[cos] stopped reading");
      expect(processAlive(escaped)).toBe(true);
    } finally {
      if (escaped) process.kill(escaped, "SIGKILL");
    }
  });
});

describe("a flood of output", () => {
  it("goes to the log with bounded memory: 200 MB on stdout grows the runner by far less", async () => {
    const bytes = 200 * 1024 * 1024;
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const result = await runAgent(run.spec({ argv: [agent("flood.sh"), String(bytes)], timeoutMs: 60_000 }));
      expect(result.exitCode).toBe(0);
      expect(statSync(result.logPath).size).toBe(bytes);
      expect(Buffer.byteLength(result.output)).toBe(256 * 1024);
      expect(result.output.endsWith(`${"0".repeat(63)}\n`)).toBe(true);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
  });
});
