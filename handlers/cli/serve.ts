import type { AppContext } from "../../src/app/context.ts";
import { ResolverLoop } from "../../resolver/loop.ts";
import { toCosError } from "../../src/shared/errors.ts";
import { createHttpApp } from "../http/app.ts";
import { startHttp } from "../http/serve.ts";
import type { CliIo } from "./io.ts";
import { hostname } from "node:os";
import { localRunner } from "./local-runner.ts";

/** `cos serve`: HTTP, the resolver loop and, with TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN, the bots. Shuts down cleanly on SIGINT or SIGTERM. */
export async function serve(ctx: AppContext, io: CliIo): Promise<void> {
  const app = createHttpApp(ctx);
  // The bot adds its webhook route, so it starts before the server listens.
  const telegram = ctx.env.TELEGRAM_BOT_TOKEN
    ? await (await import("../telegram/index.ts")).startTelegram(ctx, app, (line) => io.err(line))
    : null;
  const slack = ctx.env.SLACK_BOT_TOKEN ? await (await import("../slack/index.ts")).startSlack(ctx, app, (line) => io.err(line)) : null;
  const server = await startHttp(ctx, app);
  const loop = new ResolverLoop(ctx, {
    runnerSlots: "count",
    onPass: (report) => {
      for (const d of report.dispatched) io.out(`dispatched #${d.taskId} (attempt ${d.attempt}, tier ${d.tier})`);
      for (const a of report.autoApproved) io.out(`auto-approved #${a.taskId}`);
      for (const e of report.expired) io.out(`#${e.taskId}: ${e.claimed ? "lease lost" : "not claimed in time"}`);
    },
    onError: (error) => io.err(`resolver: ${toCosError(error).message}`),
  });
  io.out(`cos serve: listening on http://${ctx.env.COS_HOST}:${server.port} (store ${ctx.db.url})`);
  // Agents of the local runner reach the MCP server on this machine, whatever address it listens on.
  const host = ["0.0.0.0", "::", ""].includes(ctx.env.COS_HOST) ? "127.0.0.1" : ctx.env.COS_HOST;
  const mcpUrl = `http://${host.includes(":") ? `[${host}]` : host}:${server.port}/mcp`;
  const runner =
    ctx.config.runner.slots > 0 ? localRunner(ctx, io, `local-${hostname()}-${process.pid}`, ctx.config.runner.slots, mcpUrl) : null;
  runner?.start();
  await loop.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.out(`cos serve: ${signal}, shutting down`);
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve();
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  await loop.stop();
  await telegram?.stop();
  await slack?.stop();
  await runner?.stop();
  await server.close();
}
