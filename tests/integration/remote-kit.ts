import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { parseEnv } from "../../src/config/env.ts";
import type { Clock } from "../../src/shared/clock.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { startCountingProxy, type CountingProxy } from "../fixtures/counting-proxy.ts";
import { startHranaServer, type HranaServer, type HranaServerOptions } from "../fixtures/hrana-server.ts";

// A remote store for tests: the Hrana test server (tests/fixtures/hrana-server.ts) behind the counting
// proxy, a temp folder with a cos.config.json, and the environment that points cos at the proxy.

export const TOKEN = "remote-test-token";

export interface RemoteStore {
  server: HranaServer;
  proxy: CountingProxy;
  dir: string;
  configPath: string;
  /** COS_DB_URL (the proxy), COS_DB_AUTH_TOKEN and COS_CONFIG. */
  env: Record<string, string>;
  /** An app on the store, through the proxy; closed by `close`. */
  app(clock?: Clock): Promise<AppContext>;
  close(): Promise<void>;
}

export async function remoteStore(
  config: object,
  options: { latencyMs?: number; server?: HranaServerOptions } = {},
): Promise<RemoteStore> {
  const server = await startHranaServer({ authToken: TOKEN, ...options.server });
  const proxy = await startCountingProxy({ target: server.url, latencyMs: options.latencyMs ?? 0 });
  const dir = mkdtempSync(join(tmpdir(), "cos-remote-"));
  const configPath = join(dir, "cos.config.json");
  writeFileSync(configPath, JSON.stringify(config));
  const env = { COS_DB_URL: proxy.url, COS_DB_AUTH_TOKEN: TOKEN, COS_CONFIG: configPath };
  const apps: AppContext[] = [];
  return {
    server,
    proxy,
    dir,
    configPath,
    env,
    app: async (clock) => {
      const ctx = await openApp({ env: parseEnv(env), cwd: dir, workspace: gitWorkspace, ...(clock ? { clock } : {}) });
      apps.push(ctx);
      return ctx;
    },
    close: async () => {
      for (const ctx of apps.splice(0)) await ctx.db.close();
      await proxy.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
