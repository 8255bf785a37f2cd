import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Preset, Wiring } from "./presets/preset.ts";

// How a run is wired: every agent, preset or not, gets COS_MCP_URL and COS_MCP_TOKEN in its environment; a
// preset then points its CLI at the run's MCP endpoint (cos serve's /mcp) through the CLI's own mechanism, for
// this run only (see each preset's `wire`). Nothing is written to the user's CLI configuration or into the
// worktree (the runner commits what an agent leaves there): files go in the run's folder, for the owner only.

export interface McpEndpoint {
  /** The streamable-HTTP endpoint, or null when this runner has none (then only the token is passed). */
  url: string | null;
  token: string;
}

/** The server's name in each CLI: Claude Code calls its tools `mcp__cos__create_task`, and so on. */
export const MCP_SERVER_NAME = "cos";

export interface RunToWire {
  argv: string[];
  runDir: string;
  endpoint: McpEndpoint | null;
  /** The variables the agent may see (its `env` allowlist), with their values. */
  env: Record<string, string>;
  /** The run is inside cos's sandbox. */
  sandboxed?: boolean;
}

export function wireRun(preset: Preset | null, run: RunToWire): Wiring {
  const env: Record<string, string> = {};
  if (run.endpoint) env.COS_MCP_TOKEN = run.endpoint.token;
  if (run.endpoint?.url) env.COS_MCP_URL = run.endpoint.url;
  if (!preset) return { argv: run.argv, env, files: [] };
  const mcp = run.endpoint?.url ? { url: run.endpoint.url, token: run.endpoint.token } : null;
  const wired = preset.wire({ argv: run.argv, runDir: run.runDir, mcp, env: run.env, sandboxed: run.sandboxed ?? false });
  return { argv: wired.argv, env: { ...env, ...wired.env }, files: wired.files };
}

export function writeWiringFiles(wiring: Wiring): void {
  for (const file of wiring.files) {
    mkdirSync(dirname(file.path), { recursive: true, mode: 0o700 });
    writeFileSync(file.path, file.content, { mode: 0o600 });
  }
}
