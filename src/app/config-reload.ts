import { loadConfig, type Config } from "../config/config.ts";
import { toCosError } from "../shared/errors.ts";
import { perOwner } from "../shared/registry.ts";
import type { AppContext } from "./context.ts";
import type { WorkspacePortFactory } from "./ports.ts";

// A running `cos serve` takes an edited configuration without a restart. Everything that acts reads
// `ctx.config` when it acts (a pass, a claim, a reply), so applying a new one is replacing it, and the
// workspace port built from it; what was set up from the old one at start (the digest's schedule)
// listens here and sets itself up again. A file that does not validate is refused with the message a
// start would give, and the configuration in use stays.

type Listener = (before: Config) => void | Promise<void>;

const listeners = perOwner<AppContext, Listener>();

/** Calls `listener` after each new configuration is applied, with the one it replaced; answers how to stop. */
export function onConfigReload(ctx: AppContext, listener: Listener): () => void {
  return listeners.add(ctx, listener);
}

export interface ReloadOutcome {
  /** False when the file read the same as the configuration in use. */
  applied: boolean;
  /** Why the file was refused (the message a start gives), or null. */
  error: string | null;
}

/**
 * Reads the configuration again (from `COS_CONFIG`, else `cos.config.json` in `cwd`), checks it as a
 * start does (`check` adds the checks of what runs, such as the digest's cron), and applies it; a bad
 * file changes nothing.
 */
export async function reloadConfig(
  ctx: AppContext,
  options: { cwd: string; workspace: WorkspacePortFactory; check?: (config: Config) => void },
): Promise<ReloadOutcome> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(ctx.env.COS_CONFIG, options.cwd);
    options.check?.(loaded.config);
  } catch (error) {
    return { applied: false, error: toCosError(error).message };
  }
  if (JSON.stringify(loaded.config) === JSON.stringify(ctx.config)) return { applied: false, error: null };
  const before = ctx.config;
  ctx.config = loaded.config;
  ctx.configPath = loaded.path;
  ctx.workspace = options.workspace(loaded.config);
  for (const listener of listeners.of(ctx)) await listener(before);
  return { applied: true, error: null };
}
