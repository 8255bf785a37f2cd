import { afterEach } from "vitest";
import { startHarness, type Harness, type HarnessOptions } from "./telegram-kit.ts";
import { startSlackHarness, type SlackHarness } from "./slack-kit.ts";

// Kept apart from telegram-kit and slack-kit: this one registers vitest hooks, and the bench imports
// those kits (through pages-kit) outside vitest.

export type Cleanup = () => Promise<void> | void;

/**
 * The closers of one describe block's tests, run after each test, the last pushed first: a bot is
 * stopped before the store and the fake it talks to are closed.
 */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}

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
