import { spawn, type ChildProcess } from "node:child_process";
import { cleanupsAfterEach, COS_BIN, type Cleanup } from "../helpers.ts";
import { startHarness, type Harness, type HarnessOptions } from "./telegram-kit.ts";
import { startSlackHarness, type SlackHarness } from "./slack-kit.ts";

// Kept apart from telegram-kit and slack-kit: this one registers vitest hooks (cleanupsAfterEach), and the
// bench imports those kits (through pages-kit) outside vitest.

export interface ChatHarnesses {
  /** What the tests open besides the harnesses; closed after each test with them. */
  cleanups: Cleanup[];
  /** A Telegram harness (in the block's mode unless told), closed after its test. */
  telegramHarness(options?: Partial<HarnessOptions>): Promise<Harness>;
  /** A Slack harness, closed after its test. */
  slackHarness(options?: Parameters<typeof startSlackHarness>[0]): Promise<SlackHarness>;
}

/** Chat harnesses for the tests of one describe block, each closed after the test that started it. */
export function chatHarnessesClosedAfterEach(telegramMode: HarnessOptions["mode"] = "polling"): ChatHarnesses {
  const cleanups = cleanupsAfterEach();
  return {
    cleanups,
    async telegramHarness(options = {}) {
      const h = await startHarness({ mode: telegramMode, ...options });
      cleanups.push(h.close);
      return h;
    },
    async slackHarness(options = {}) {
      const h = await startSlackHarness(options);
      cleanups.push(h.close);
      return h;
    },
  };
}

export interface ServeChild {
  child: ChildProcess;
  /** What it has printed so far, stdout and stderr together. */
  output(): string;
  exited: Promise<number | null>;
  /** Rethrows a wait's failure with what the server printed, which says why it never came. */
  failWithOutput(error: Error): never;
}

/**
 * `cos serve` in a child process that sees `env` (and PATH and HOME) only; killed after the test if it
 * still runs, so a failed test leaves no server behind.
 */
export function serveInChild(env: Record<string, string>, cleanups: Cleanup[]): ServeChild {
  const child = spawn(process.execPath, [COS_BIN, "serve"], { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return {
    child,
    output: () => output,
    exited,
    failWithOutput: (error) => {
      throw new Error(`${error.message}\n${output}`);
    },
  };
}
