// What a real-CLI test runs the CLI against, the same for Claude Code, Codex and Gemini CLI (alone, or under cos
// in the preset tests): the vendor's fake API, cos's MCP server as a recorder, and an environment that keeps
// the CLI inside the test's scratch folders.

import { afterEach } from "vitest";
import { startMcpRecorder, type McpRecorder } from "../fixtures/fake-vendors/mcp-recorder.ts";
import type { FakeServer, Scenario, Turn } from "../fixtures/fake-vendors/scenario.ts";
import type { Scratch } from "./cli-real-kit.ts";

/** One run's wiring: its folders, the fakes it talks to, and the argv and environment that point it at them. */
export interface CliSetup<Fake extends FakeServer> {
  s: Scratch;
  fake: Fake;
  mcp: McpRecorder;
  env: Record<string, string>;
  /** The argv the preset would run, with cos's MCP wiring. */
  argv: string[];
}

/** A test's turns, or a function of its scratch folders when a turn names a path in them. */
export type Turns = Turn[] | ((s: Scratch) => Turn[]);

/**
 * Wraps a server's start so that every server it starts in a test is closed after that test, so a test that
 * fails half-way leaves no server behind.
 */
export function closedAfterEachTest<Args extends unknown[], Server extends { close(): Promise<void> }>(start: (...args: Args) => Promise<Server>): (...args: Args) => Promise<Server> {
  const started: Server[] = [];
  afterEach(async () => {
    for (const server of started.splice(0)) await server.close();
  });
  return async (...args) => {
    const server = await start(...args);
    started.push(server);
    return server;
  };
}

/** Returns a starter of the vendor fake (playing `turns`) and the MCP recorder for one run, both closed after the test. */
export function backendsPerTest<Fake extends FakeServer>(startFake: (scenario: Scenario) => Promise<Fake>): (s: Scratch, turns: Turns) => Promise<{ fake: Fake; mcp: McpRecorder }> {
  const startFakeForTest = closedAfterEachTest(startFake);
  const startMcpForTest = closedAfterEachTest(startMcpRecorder);
  return async (s, turns) => ({ fake: await startFakeForTest({ turns: typeof turns === "function" ? turns(s) : turns }), mcp: await startMcpForTest() });
}

/** PATH, HOME and TMPDIR in the scratch folders, a fixed locale and time zone, then the vendor's own variables. */
export function scratchEnv(s: Scratch, vendor: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: s.home, LANG: "C.UTF-8", TMPDIR: s.tmp, TZ: "UTC", ...vendor };
}
