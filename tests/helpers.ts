import { execFile, spawn } from "node:child_process";
import { afterEach } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AppContext } from "../src/app/context.ts";
import { openApp } from "../src/app/open.ts";
import { gitWorkspace } from "../runner/workspace/port.ts";
import { parseEnv } from "../src/config/env.ts";
import { fixedClock, type Clock } from "../src/shared/clock.ts";

export const ROOT = resolve(import.meta.dirname, "..");
export const COS_BIN = join(ROOT, "bin", "cos.js");

export const DEFAULT_TEST_CONFIG = {
  agents: {
    builder: { command: ["node", join(ROOT, "tests", "fixtures", "agent.js")] },
    writer: { command: ["node", join(ROOT, "tests", "fixtures", "agent.js")] },
    researcher: { command: ["node", join(ROOT, "tests", "fixtures", "agent.js")] },
  },
};

export interface TempWorkspace {
  dir: string;
  dbUrl: string;
  configPath: string;
  env: Record<string, string>;
  cleanup(): void;
}

/** A temp folder with a cos.config.json and a store URL; nothing is opened yet. */
export function tempWorkspace(config: object = DEFAULT_TEST_CONFIG): TempWorkspace {
  const dir = mkdtempSync(join(tmpdir(), "cos-test-"));
  const configPath = join(dir, "cos.config.json");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const dbUrl = `file:${join(dir, "cos.db")}`;
  return {
    dir,
    dbUrl,
    configPath,
    env: { COS_DB_URL: dbUrl, COS_CONFIG: configPath },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An opened app on a fresh store in a temp folder, with a clock the test can move. */
export async function tempApp(
  config: object = DEFAULT_TEST_CONFIG,
  start = "2026-11-23T22:00:00.000Z",
): Promise<{ ctx: AppContext; ws: TempWorkspace; clock: MovableClock; close(): Promise<void> }> {
  const ws = tempWorkspace(config);
  const clock = movableClock(start);
  const ctx = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
  return {
    ctx,
    ws,
    clock,
    close: async () => {
      await ctx.db.close();
      ws.cleanup();
    },
  };
}

export type Cleanup = () => Promise<void> | void;

/**
 * For the tests of one describe block: what a test hands to the returned function is undone after that
 * test, passed or failed, the last first (a server closes before its store, its store before its folder).
 */
export function cleanupAfterEach(): (cleanup: Cleanup) => void {
  const cleanups = cleanupsAfterEach();
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

/**
 * The closers of one describe block's tests, as a list to push to, run after each test, the last pushed
 * first: a bot is stopped before the store and the fake it talks to are closed.
 */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

/** For the tests of one describe block: what a test opens through the returned function is closed after it. */
export function closeAfterEach(): <T extends { close(): Promise<void> | void }>(opened: T) => T {
  const later = cleanupAfterEach();
  return (opened) => {
    later(() => opened.close());
    return opened;
  };
}

/** Opens temp apps for the tests of one describe block and closes each after its test. */
export function tempAppsClosedAfterEach(): typeof tempApp {
  const keep = closeAfterEach();
  return async (...args) => keep(await tempApp(...args));
}

/**
 * An app on the real clock, on a fresh temp workspace with this config, opened with extra environment
 * (tokens, a port) as `cos serve` would be; `later` (from cleanupAfterEach) closes it and removes the folder.
 */
export async function tempAppWithEnv(
  later: (cleanup: Cleanup) => void,
  config: object,
  extraEnv: Record<string, string>,
): Promise<{ ctx: AppContext; ws: TempWorkspace; env: Record<string, string> }> {
  const ws = tempWorkspace(config);
  later(ws.cleanup);
  const env = { ...ws.env, ...extraEnv };
  const ctx = await openApp({ env: parseEnv(env), cwd: ws.dir, workspace: gitWorkspace });
  later(() => ctx.db.close());
  return { ctx, ws, env };
}

export interface MovableClock {
  now: Clock;
  set(iso: string): void;
  advance(ms: number): void;
  iso(): string;
}

export function movableClock(start: string): MovableClock {
  let at = new Date(start).getTime();
  return {
    now: () => new Date(at),
    set: (iso) => {
      at = new Date(iso).getTime();
    },
    advance: (ms) => {
      at += ms;
    },
    iso: () => new Date(at).toISOString(),
  };
}

export { fixedClock };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `cos` bin in a child process. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [COS_BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();
  });
}

export { execFile };
