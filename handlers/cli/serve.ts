import type { AppContext } from "../../src/app/context.ts";
import { ResolverLoop } from "../../resolver/loop.ts";
import { presenceStatements, writePresence } from "../../src/app/runs.ts";
import { toCosError } from "../../src/shared/errors.ts";
import { StoreWatch } from "../../src/store/watch.ts";
import { createHttpApp } from "../http/app.ts";
import { startHttp } from "../http/serve.ts";
import { startConfiguredPlatforms } from "../platforms.ts";
import type { CliIo } from "./io.ts";
import { hostname } from "node:os";
import { localRunner, runnerSandbox } from "./local-runner.ts";
import { expiredWords } from "./render.ts";
import { watchConfig } from "./config-watch.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import type { Runner } from "../../runner/runner.ts";
import { onConfigReload } from "../../src/app/config-reload.ts";
import type { Config } from "../../src/config/config.ts";

/** `cos serve`: HTTP, the resolver loop and every chat platform whose token is set (handlers/platforms.ts). Shuts down cleanly on SIGINT or SIGTERM. */
export async function serve(ctx: AppContext, io: CliIo): Promise<void> {
  // Decided first: a required sandbox that is missing stops the server before it listens.
  const sandbox = ctx.config.runner.slots > 0 ? await runnerSandbox(ctx.config, ctx.env, io, ctx.configPath) : undefined;
  const app = createHttpApp(ctx);
  // The platforms add their webhook routes, so they start before the server listens.
  const platforms = await startConfiguredPlatforms(ctx, app, (line) => io.err(line));
  const server = await startHttp(ctx, app);
  // While the store is away, the watch says so once (and once when it is back): the loop stays quiet.
  let storeAway = false;
  // The store's changes, from any process: the file's own notices on an embedded store, one read a
  // second of a remote one; runners' presence rides along with those reads.
  const watch = new StoreWatch(ctx.store, {
    extras: () => presenceStatements(ctx, ctx.clock()),
    onEntries: (entries) => {
      loop.noticeEntries(entries);
      if (entries.some((e) => e.type === "TaskDispatched")) void runner?.poll();
    },
    onBack: () => {
      storeAway = false;
      // The runners' presence may have gone stale while the store was away: write it before the pass counts slots.
      void writePresence(ctx).then(() => {
        loop.graceAfterOutage();
        void runner?.poll();
      });
    },
    log: (line) => {
      if (/can't be reached|refused the token/.test(line)) storeAway = true;
      io.err(line);
    },
  });
  const loop: ResolverLoop = new ResolverLoop(ctx, {
    runnerSlots: "count",
    watch,
    // After an outage, runners get a heartbeat's time to renew leases that ran out meanwhile.
    leaseGraceMs: (ctx.config.resolver.leaseSeconds * 1000) / 2,
    onPass: (report) => {
      for (const d of report.dispatched) io.out(`dispatched #${d.taskId} (attempt ${d.attempt}, tier ${d.tier})`);
      for (const a of report.autoApproved) io.out(`auto-approved #${a.taskId}`);
      for (const e of report.expired) io.out(`#${e.taskId} attempt ${e.attempt}: ${expiredWords(e.claimed)}`);
      if (report.dispatched.length) void runner?.poll();
    },
    onError: (error) => {
      const cos = toCosError(error);
      if (cos.code === "unavailable" && storeAway) return;
      io.err(`resolver: ${cos.message}`);
    },
  });
  io.out(`cos serve: listening on http://${ctx.env.COS_HOST}:${server.port} (store ${ctx.db.displayUrl})`);
  // The review pages highlight diffs; their highlighter is readied now, in slices, rather than by the first page.
  void import("../../src/pages/highlight.ts")
    .then((m) => m.warmHighlighter())
    .catch((error) => io.err(`review pages: ${toCosError(error).message}`));
  // Agents of the local runner reach the MCP server on this machine, whatever address it listens on.
  const host = ["0.0.0.0", "::", ""].includes(ctx.env.COS_HOST) ? "127.0.0.1" : ctx.env.COS_HOST;
  const mcpUrl = `http://${host.includes(":") ? `[${host}]` : host}:${server.port}/mcp`;
  const runner =
    ctx.config.runner.slots > 0
      ? localRunner(ctx, io, `local-${hostname()}-${process.pid}`, "config", { mcpUrl, sandbox, storeWatched: true })
      : null;
  runner?.start();
  await runner?.poll();
  await watch.start();
  await loop.start();
  const stopWatching = watchConfig(ctx, io, gitWorkspace);
  const stopRunnerReloads = onConfigReload(ctx, (before) => runnerSettingsChanged(ctx, io, before, runner, loop));
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
  stopRunnerReloads();
  await loop.stop();
  await watch.stop();
  for (const platform of platforms) await platform.stop();
  await runner?.stop();
  await server.close();
}

/**
 * An edited `runner` section: the local runner reads its slots and labels from the configuration at each
 * claim, so a change is claimed with at once and its presence written for the next pass to count. What is
 * fixed when the server starts (whether it has a local runner at all, its sandbox) says it needs a restart.
 */
async function runnerSettingsChanged(ctx: AppContext, io: CliIo, before: Config, runner: Runner | null, loop: ResolverLoop): Promise<void> {
  const was = before.runner;
  const now = ctx.config.runner;
  if (was.sandbox !== now.sandbox) io.err(`cos serve: runner.sandbox is now "${now.sandbox}"; it applies when cos serve starts again`);
  if (!runner) {
    if (now.slots > 0) io.err(`cos serve: runner.slots is now ${now.slots}, but this server started without its local runner; restart cos serve to start it`);
    return;
  }
  if (was.slots === now.slots && JSON.stringify(was.labels) === JSON.stringify(now.labels)) return;
  io.out(`cos serve: the local runner now has ${now.slots} slot${now.slots === 1 ? "" : "s"}${now.labels.length ? ` and labels ${now.labels.join(", ")}` : ""}`);
  await runner.poll();
  await writePresence(ctx);
  await loop.trigger();
}
