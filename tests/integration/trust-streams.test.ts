import { describe, expect, it } from "vitest";
import { clearPin, pinTier, trustTable } from "../../src/app/trust.ts";
import { legacyTrustStream, trustStream, type TierChangedData } from "../../src/domain/trust/aggregate.ts";
import { tempAppsClosedAfterEach } from "../helpers.ts";
import { liveAndRebuilt } from "./store-helpers.ts";

// Agents and types may have '-' in their names. (a-b, c) and (a, b-c) once shared a trust stream; now
// each pair has its own, and a store written before keeps each pair's history where it is.
const agent = { command: ["true"] };
const config = { agents: { a: agent, "a-b": agent, "claude-code": agent }, review: { defaults: { c: "gate", "b-c": "gate", code: "gate" } } };

describe("trust streams of names with '-'", () => {
  const tempApp = tempAppsClosedAfterEach();
  const app = async () => (await tempApp(config)).ctx;

  /** A TierChanged for a pin, as any version wrote it. */
  const pinned = (a: string, type: string, pin: "auto" | "quick"): TierChangedData => ({
    agent: a, type, from: "gate", to: pin, reason: "override", pin, trustTier: "gate", approvalRate: 0, sendBackRate: 0, n: 0,
  });

  async function expectRebuildToEqualLive(ctx: Awaited<ReturnType<typeof app>>) {
    const { live, rebuilt, rebuiltInWorker } = await liveAndRebuilt(ctx.db);
    expect(rebuilt).toEqual(live);
    expect(rebuiltInWorker).toEqual(live);
  }

  const streamsOf = async (ctx: Awaited<ReturnType<typeof app>>) =>
    (await ctx.db.query<{ stream: string; n: number }>("SELECT stream, COUNT(*) AS n FROM events WHERE stream LIKE 'trust-%' GROUP BY stream ORDER BY stream")).map(
      (r) => `${r.stream}:${Number(r.n)}`,
    );

  it("keeps the pins of (a-b, c) and (a, b-c) apart, live and rebuilt", async () => {
    const ctx = await app();
    await pinTier(ctx, "a-b", "c", "auto", "cli");
    await pinTier(ctx, "a", "b-c", "quick", "cli");
    await pinTier(ctx, "a-b", "c", "quick", "cli");
    expect(await streamsOf(ctx)).toEqual([`${trustStream("a", "b-c")}:1`, `${trustStream("a-b", "c")}:2`]);
    const pins = (await trustTable(ctx)).map((r) => [r.agent, r.type, r.pin]);
    expect(pins).toEqual([
      ["a", "b-c", "quick"],
      ["a-b", "c", "quick"],
    ]);
    await expectRebuildToEqualLive(ctx);
  });

  it("goes on in the stream an older store named trust-<agent>-<type>, without a migration", async () => {
    const ctx = await app();
    const old = legacyTrustStream("claude-code", "code");
    expect(old).not.toBe(trustStream("claude-code", "code"));
    // What the earlier version wrote for `cos tier set claude-code code auto`.
    const meta = { at: ctx.clock().toISOString(), actor: "cli" };
    await ctx.store.append([{ stream: old, expectedVersion: 0, events: [{ type: "TierChanged", data: pinned("claude-code", "code", "auto") }] }], meta);
    expect((await trustTable(ctx)).map((r) => [r.agent, r.pin])).toEqual([["claude-code", "auto"]]);

    expect(await pinTier(ctx, "claude-code", "code", "auto", "cli")).toEqual({ changed: false });
    expect(await clearPin(ctx, "claude-code", "code", "cli")).toEqual({ changed: true });
    expect(await streamsOf(ctx)).toEqual([`${old}:2`]);
    expect((await ctx.db.query<{ stream: string }>("SELECT stream FROM trust")).map((r) => r.stream)).toEqual([old]);
    expect((await trustTable(ctx)).map((r) => [r.agent, r.pin])).toEqual([["claude-code", null]]);
    await expectRebuildToEqualLive(ctx);
  });

  it("gives a pair that once shared its stream a stream of its own, and leaves the other pair the old one", async () => {
    const ctx = await app();
    const shared = legacyTrustStream("a-b", "c");
    const meta = { at: ctx.clock().toISOString(), actor: "cli" };
    await ctx.store.append([{ stream: shared, expectedVersion: 0, events: [{ type: "TierChanged", data: pinned("a", "b-c", "quick") }] }], meta);
    await ctx.store.append([{ stream: shared, expectedVersion: 1, events: [{ type: "TierChanged", data: pinned("a-b", "c", "auto") }] }], meta);

    await clearPin(ctx, "a-b", "c", "cli");
    await pinTier(ctx, "a", "b-c", "auto", "cli");
    expect(await streamsOf(ctx)).toEqual([`${shared}:3`, `${trustStream("a", "b-c")}:1`]);
    expect((await trustTable(ctx)).map((r) => [r.agent, r.type, r.pin])).toEqual([
      ["a", "b-c", "auto"],
      ["a-b", "c", null],
    ]);
    await expectRebuildToEqualLive(ctx);
  });
});
