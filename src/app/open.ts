import { loadConfig } from "../config/config.ts";
import type { Env } from "../config/env.ts";
import { fixedClock, systemClock, type Clock } from "../shared/clock.ts";
import { Database } from "../store/db.ts";
import { EventStore } from "../store/event-store.ts";
import { migrate } from "../store/migrate.ts";
import type { AppContext } from "./context.ts";
import type { WorkspacePortFactory } from "./ports.ts";
import { installOutbox } from "../outbox/outbox.ts";

export interface OpenOptions {
  env: Env;
  cwd?: string;
  clock?: Clock;
  /** The workspace adapter, built from the configuration read here; the caller picks it (src/ knows none). */
  workspace: WorkspacePortFactory;
}

/** Parses the configuration, opens the store and brings its schema up to date. */
export async function openApp({ env, cwd = process.cwd(), clock, workspace }: OpenOptions): Promise<AppContext> {
  const { config, path } = loadConfig(env.COS_CONFIG, cwd);
  const db = await Database.open({ url: env.COS_DB_URL, authToken: env.COS_DB_AUTH_TOKEN, cwd });
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  const ctx: AppContext = {
    db,
    store: new EventStore(db),
    config,
    configPath: path,
    env,
    clock: clock ?? (env.COS_NOW ? fixedClock(env.COS_NOW) : systemClock),
    workspace: workspace(config),
  };
  // Every process that appends writes the notifications its events cause, in the same transaction.
  installOutbox(ctx);
  return ctx;
}
