import { TIERS } from "../../../src/domain/task/task.ts";
import { exactArguments, oneOf } from "../args.ts";
import { ACTOR, storeCommand } from "../command.ts";
import { renderTrust } from "../render.ts";

// Review tiers and trust (DESIGN §5): the table, and a person's pin over it.

export const trust = storeCommand({
  usage: "cos trust",
  options: {},
  run: async (ctx) => (await import("../../../src/app/trust.ts")).trustTable(ctx),
  text: renderTrust,
});

const TIER_SET_USAGE = "cos tier set AGENT TYPE auto|quick|gate";
const TIER_CLEAR_USAGE = "cos tier clear AGENT TYPE";

export const tierSet = storeCommand({
  positional: true,
  usage: TIER_SET_USAGE,
  options: {},
  run: async (ctx, { positionals }) => {
    const [agent, type, tier] = exactArguments(positionals, 3, TIER_SET_USAGE) as [string, string, string];
    const { pinTier } = await import("../../../src/app/trust.ts");
    const { changed } = await pinTier(ctx, agent, type, oneOf(tier, TIERS, "the tier"), ACTOR);
    return { agent, type, pin: tier, changed };
  },
  text: (v) => `${v.agent} ${v.type}: pinned at ${v.pin}${v.changed ? "" : " (already)"}`,
});

export const tierClear = storeCommand({
  positional: true,
  usage: TIER_CLEAR_USAGE,
  options: {},
  run: async (ctx, { positionals }) => {
    const [agent, type] = exactArguments(positionals, 2, TIER_CLEAR_USAGE) as [string, string];
    const { clearPin } = await import("../../../src/app/trust.ts");
    const { changed } = await clearPin(ctx, agent, type, ACTOR);
    return { agent, type, changed };
  },
  text: (v) => `${v.agent} ${v.type}: ${v.changed ? "pin cleared; trust decides again" : "had no pin"}`,
});
