import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { reloadConfig } from "../../src/app/config-reload.ts";
import type { AppContext } from "../../src/app/context.ts";
import type { WorkspacePortFactory } from "../../src/app/ports.ts";
import { checkDigestCron } from "../../src/chat/platform-startup.ts";
import { configuredPlatforms } from "../../src/config/platforms.ts";
import type { CliIo } from "./io.ts";

/** Editors write a file in steps (truncate, write, rename): read it once they are done. */
const SETTLE_MS = 150;

/**
 * `cos serve` takes an edited configuration without a restart: when the file changes, or on SIGHUP.
 * A file that does not validate is refused with the message a start would print, and the server goes
 * on with the configuration it has. Answers how to stop watching.
 */
export function watchConfig(ctx: AppContext, io: CliIo, workspace: WorkspacePortFactory): () => void {
  const path = resolve(io.cwd, ctx.env.COS_CONFIG ?? "cos.config.json");
  const check = configuredPlatforms(ctx.env).length ? (config: AppContext["config"]) => checkDigestCron({ config }) : undefined;
  let running: Promise<void> = Promise.resolve();
  const reload = (why: string) => {
    running = running.then(async () => {
      const outcome = await reloadConfig(ctx, { cwd: io.cwd, workspace, ...(check ? { check } : {}) });
      if (outcome.error) {
        io.err(`error: ${outcome.error}`);
        io.err(`cos serve: kept the configuration in use (${why})`);
      } else if (outcome.applied) {
        io.out(`cos serve: read ${path} again (${why})`);
      } else if (why === "SIGHUP") {
        io.out(`cos serve: read ${path} again (SIGHUP): unchanged`);
      }
    });
  };
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  try {
    // The folder, not the file: an editor's save may replace the file, and a file created later is seen too.
    watcher = watch(dirname(path), (_event, file) => {
      if (file !== basename(path)) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => reload("the file changed"), SETTLE_MS);
    });
  } catch (error) {
    io.err(`cos serve: cannot watch ${dirname(path)} (${(error as Error).message}); send SIGHUP after editing ${basename(path)}`);
  }
  const onHup = () => reload("SIGHUP");
  process.on("SIGHUP", onHup);
  return () => {
    process.off("SIGHUP", onHup);
    if (timer) clearTimeout(timer);
    watcher?.close();
  };
}
