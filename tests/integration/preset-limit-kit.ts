// What the preset tests at a usage limit check the same way for every CLI.

import { expect } from "vitest";
import { activityText, iso, type PresetWorld } from "./preset-kit.ts";

/**
 * The first tick, at `t0`, dispatches task 1 into the limit: it comes back queued on its first attempt (no attempt
 * spent), held for a minute, its failure a usage limit whose detail is `detail` (or matches it).
 */
export async function expectFirstTickBacksOffAMinute(world: PresetWorld, tick: (ms: number) => Promise<number[]>, t0: number, detail: string | RegExp): Promise<void> {
  expect(await tick(t0)).toEqual([1]);
  const waiting = await world.task(1);
  expect(waiting, activityText(waiting)).toMatchObject({
    status: "queued",
    attempt: 1,
    notBefore: iso(t0 + 60_000),
    failure: { reason: "usage_limit", detail: typeof detail === "string" ? detail : expect.stringMatching(detail) },
  });
}
