import type { Hono } from "hono";
import type { AppContext } from "../src/app/context.ts";
import { configuredPlatforms, type Platform } from "../src/config/platforms.ts";

// How `cos serve` starts each platform of the registry (src/config/platforms.ts): one line each,
// loading the platform's folder only when its token is set, so that no other command loads grammY
// or Bolt. The type makes a registry entry without a start here a compile error.

export interface RunningPlatform {
  stop(): Promise<void>;
}

/** Adds the platform's routes to `app` (before the server listens) and starts it. */
export type StartPlatform = (ctx: AppContext, app: Hono, log: (line: string) => void) => Promise<RunningPlatform>;

const STARTS: { [P in Platform]: () => Promise<StartPlatform> } = {
  telegram: async () => (await import("./telegram/index.ts")).startTelegram,
  slack: async () => (await import("./slack/index.ts")).startSlack,
};

/** Starts every platform whose token is set, in the registry's order. */
export async function startConfiguredPlatforms(ctx: AppContext, app: Hono, log: (line: string) => void): Promise<RunningPlatform[]> {
  const running: RunningPlatform[] = [];
  for (const name of configuredPlatforms(ctx.env)) running.push(await (await STARTS[name]())(ctx, app, log));
  return running;
}
