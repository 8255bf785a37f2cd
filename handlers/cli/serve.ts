import type { AppContext } from "../../src/app/context.ts";
import { ResolverLoop } from "../../resolver/loop.ts";
import { toCosError } from "../../src/shared/errors.ts";
import { createHttpApp } from "../http/app.ts";
import { startHttp } from "../http/serve.ts";
import { startConfiguredPlatforms } from "../platforms.ts";
import type { CliIo } from "./io.ts";
import { hostname } from "node:os";
import { localRunner, runnerSandbox } from "./local-runner.ts";
import { expiredWords } from "./render.ts";
import { watchConfig } from "./config-watch.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";

/** `cos serve`: HTTP, the resolver loop and every chat platform whose token is set (handlers/platforms.ts). Shuts down cleanly on SIGINT or SIGTERM. */
export async function serve(ctx: AppContext, io: CliIo): Promise<void> {
  // Decided first: a required sandbox that is missing stops the server before it listens.
  const sandbox = ctx.config.runner.slots > 0 ? await runnerSandbox(ctx.config, ctx.env, io, ctx.configPath) : undefined;
  const app = createHttpApp(ctx);
  // The platforms add their webhook routes, so they start before the server listens.
  const platforms = await startConfiguredPlatforms(ctx, app, (line) => io.err(line));
  const server = await startHttp(ctx, app);
  const loop = new ResolverLoop(ctx, {
    runnerSlots: "count",
    onPass: (report) => {
      for (const d of report.dispatched) io.out(`dispatched #${d.taskId} (attempt ${d.attempt}, tier ${d.tier})`);
      for (const a of report.autoApproved) io.out(`auto-approved #${a.taskId}`);
      for (const e of report.expired) io.out(`#${e.taskId} attempt ${e.attempt}: ${expiredWords(e.claimed)}`);
    },
    onError: (error) => io.err(`resolver: ${toCosError(error).message}`),
  });
  io.out(`cos serve: listening on http://${ctx.env.COS_HOST}:${server.port} (store ${ctx.db.url})`);
  // The review pages highlight diffs; their highlighter is readied now, in slices, rather than by the first page.
  void import("../../src/pages/highlight.ts")
    .then((m) => m.warmHighlighter())
    .catch((error) => io.err(`review pages: ${toCosError(error).message}`));
  // Agents of the local runner reach the MCP server on this machine, whatever address it listens on.
  const host = ["0.0.0.0", "::", ""].includes(ctx.env.COS_HOST) ? "127.0.0.1" : ctx.env.COS_HOST;
  const mcpUrl = `http://${host.includes(":") ? `[${host}]` : host}:${server.port}/mcp`;
  const runner =
    ctx.config.runner.slots > 0 ? localRunner(ctx, io, `local-${hostname()}-${process.pid}`, ctx.config.runner.slots, { mcpUrl, sandbox }) : null;
  runner?.start();
  await loop.start();
  const stopWatching = watchConfig(ctx, io, gitWorkspace);
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
  stopWatching();
  await loop.stop();
  for (const platform of platforms) await platform.stop();
  await runner?.stop();
  await server.close();
}
