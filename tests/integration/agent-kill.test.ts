import { readFileSync, statSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { processGroupAlive, runAgent } from "../../runner/agent.ts";
import { agent, printedPid, processAlive, tempRun } from "../fixtures/agents/harness.ts";

// Timeouts, aborts and stray processes (DESIGN §7): the whole process group gets SIGTERM, then SIGKILL after the
// grace period, and nothing of a run outlives it. Short timeouts keep this quick; the waits are real processes.

let run: ReturnType<typeof tempRun>;
beforeEach(() => {
  run = tempRun();
});
afterEach(() => run.cleanup());

describe("at the timeout", () => {
  it("stops an agent that honours SIGTERM without waiting for the grace period", async () => {
    const result = await runAgent(run.spec({ argv: ["node", agent("sleeps.js")], timeoutMs: 300, graceMs: 5_000 }));
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGTERM" });
    expect(result.durationMs).toBeGreaterThanOrEqual(300);
    expect(result.durationMs).toBeLessThan(2_000);
    expect(result.output).toBe("working\n");
  });

  it("sends SIGTERM first, then SIGKILL to an agent that ignores it", async () => {
    // Long enough for node to install its SIGTERM handler before the timeout, even on a busy machine.
    const result = await runAgent(run.spec({ argv: ["node", agent("ignores-term.js")], timeoutMs: 1_000, graceMs: 300 }));
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGKILL" });
    expect(result.output).toContain("got SIGTERM, carrying on");
    expect(result.durationMs).toBeGreaterThanOrEqual(1_000 + 300 - 20);
    expect(processGroupAlive(result.pid!)).toBe(false);
  });

  it("leaves no process of the run alive 1 s after the grace period, grandchildren included", async () => {
    const timeoutMs = 300;
    const graceMs = 300;
    const started = Date.now();
    let groupAliveDuringRun = false;
    const result = await runAgent(run.spec({ argv: [agent("grandchild.sh")], timeoutMs, graceMs }), {
      onSpawn: (pid) => setTimeout(() => (groupAliveDuringRun = processGroupAlive(pid)), 150),
    });
    const elapsed = Date.now() - started;
    expect(groupAliveDuringRun).toBe(true);
    expect(result).toMatchObject({ timedOut: true, signal: "SIGKILL" });
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs + graceMs - 20);
    expect(elapsed).toBeLessThan(timeoutMs + graceMs + 1_000);
    const grandchild = printedPid(result.output, "grandchild");
    expect(processGroupAlive(result.pid!)).toBe(false);
    expect(processAlive(grandchild)).toBe(false);
    expect(processAlive(result.pid!)).toBe(false);
  });

  it("stops on abort like at the timeout, without calling it a timeout", async () => {
    const controller = new AbortController();
    const result = await runAgent(run.spec({ argv: ["node", agent("sleeps.js")], graceMs: 300 }), {
      signal: controller.signal,
      onSpawn: () => setTimeout(() => controller.abort(), 200),
    });
    expect(result).toMatchObject({ timedOut: false, exitCode: null, signal: "SIGTERM" });
    expect(result.durationMs).toBeLessThan(2_000);
  });

  it("stops at once when the signal is already aborted", async () => {
    const result = await runAgent(run.spec({ argv: ["node", agent("sleeps.js")], graceMs: 300 }), { signal: AbortSignal.abort() });
    expect(result).toMatchObject({ timedOut: false, exitCode: null, signal: "SIGTERM" });
    expect(result.durationMs).toBeLessThan(1_000);
  });
});

describe("after the agent exits", () => {
  it("kills what it left running in its group, at once", async () => {
    const result = await runAgent(run.spec({ argv: [agent("leaves-grandchild.sh")], graceMs: 5_000 }));
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    expect(result.durationMs).toBeLessThan(2_000);
    expect(processAlive(printedPid(result.output, "grandchild"))).toBe(false);
    expect(processGroupAlive(result.pid!)).toBe(false);
  });

  it("stops reading after a while when a process that left the group keeps its output open", async () => {
    // A caveat, not a promise: setsid takes a process out of the group, and out of reach of the kill.
    let escaped: number | null = null;
    try {
      const result = await runAgent(run.spec({ argv: [agent("escapes-group.sh")], graceMs: 300 }));
      escaped = printedPid(result.output, "escaped");
      expect(result.exitCode).toBe(0);
      expect(result.durationMs).toBeLessThan(5_000);
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
