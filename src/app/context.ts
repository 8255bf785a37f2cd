import type { Config } from "../config/config.ts";
import type { Env } from "../config/env.ts";
import type { Clock } from "../shared/clock.ts";
import type { Database } from "../store/db.ts";
import type { EventStore } from "../store/event-store.ts";
import type { WorkspacePort } from "./ports.ts";

/** Everything a command needs, built once per process by an entry point. */
export interface AppContext {
  db: Database;
  store: EventStore;
  config: Config;
  configPath: string | null;
  env: Env;
  clock: Clock;
  /** Task branches and worktrees: merge on approve, keep on discard, the patch for review. */
  workspace: WorkspacePort;
}
