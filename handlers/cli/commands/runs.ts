import { valueOptions } from "../args.ts";
import { openStore, storeCommand, type StandaloneCommand } from "../command.ts";

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
