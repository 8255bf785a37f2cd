import { ValidationError } from "../../../src/shared/errors.ts";
import { valueOptions } from "../args.ts";
import { ACTOR, openStore, storeCommand, type StandaloneCommand } from "../command.ts";

// The processes that run agents (DESIGN §1, §7): `cos serve` with its local runner, a remote runner,
// the MCP server an agent talks to during its run, and freeing what finished runs leave behind.

export const serve: StandaloneCommand = {
  usage: "cos serve",
  options: {},
  standalone: async (_args, io) => {
    const ctx = await openStore(io);
    try {
      await (await import("../serve.ts")).serve(ctx, io);
    } finally {
      await ctx.db.close();
    }
    return 0;
  },
};

export const runner: StandaloneCommand = {
  usage: "cos runner --server URL --token T [--slots N] [--labels a,b] [--id NAME]",
  options: valueOptions("server", "token", "slots", "labels", "id"),
  standalone: async ({ values }, io) => (await import("../remote-runner.ts")).runRemote(values, io),
};

const TOKEN_USAGE = "cos runner token add NAME | cos runner token list | cos runner token revoke NAME";

type TokenOutcome =
  | { action: "add"; name: string; token: string }
  | { action: "revoke"; name: string }
  | { action: "list"; tokens: { name: string; createdAt: string; createdBy: string }[] };

/** Per-runner tokens (DESIGN §11): printed once, stored as a hash, bound to the runner's name. */
export const runnerToken = storeCommand({
  positional: true,
  usage: TOKEN_USAGE,
  options: {},
  run: async (ctx, { positionals }): Promise<TokenOutcome> => {
    const [action, name, ...extra] = positionals;
    const tokens = await import("../../../src/app/runner-tokens.ts");
    if (action === "list" && name === undefined) return { action, tokens: await tokens.listRunnerTokens(ctx) };
    if (action === "add" && name !== undefined && !extra.length) return { action, ...(await tokens.addRunnerToken(ctx, name, ACTOR)) };
    if (action === "revoke" && name !== undefined && !extra.length) return { action, ...(await tokens.revokeRunnerToken(ctx, name, ACTOR)) };
    throw new ValidationError(`usage: ${TOKEN_USAGE}`);
  },
  text: (v) => {
    switch (v.action) {
      case "add":
        return `${v.token}\n(runner ${v.name}'s token, shown this once: cos runner --server URL --token <it>; it opens the runner protocol for ${v.name} only)`;
      case "revoke":
        return `runner ${v.name}'s token revoked`;
      case "list":
        return v.tokens.length ? v.tokens.map((t) => `${t.name}  made ${t.createdAt} by ${t.createdBy}`).join("\n") : "no runner tokens";
    }
  },
});

export const mcp: StandaloneCommand = {
  usage: "cos mcp   (the MCP server over stdio for an agent's run: COS_MCP_TOKEN, and COS_MCP_URL to relay to cos serve)",
  options: {},
  standalone: async (_args, io) => (await import("../mcp.ts")).serveMcpStdio(io),
};

export const gc = storeCommand({
  usage: "cos gc [--dry-run]   (report and free worktrees and branches no open task needs)",
  options: { "dry-run": { type: "boolean" } },
  run: async (ctx, { values }) => (await import("../local-runner.ts")).garbageCollect(ctx, values["dry-run"] === true),
  text: (r) =>
    [
      ...r.removed.map((x) => `${r.dryRun ? "would remove" : "removed"} ${x.path} (${x.reason})`),
      ...r.kept.map((x) => `kept ${x.path} (${x.reason})`),
      r.removed.length || r.kept.length ? "" : "nothing to free",
    ]
      .filter(Boolean)
      .join("\n"),
});
