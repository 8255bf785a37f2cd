import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PresetName } from "./presets.ts";

// How each agent CLI with MCP support is pointed at the run's MCP endpoint (cos serve's /mcp), each through
// its own mechanism and only for this run: nothing is written to the user's config or into the worktree
// (the runner commits what an agent leaves there). Files go in the run's folder, readable by the owner only.
// Every agent, preset or not, also gets COS_MCP_URL and COS_MCP_TOKEN in its environment.

export interface McpEndpoint {
  /** The streamable-HTTP endpoint, or null when this runner has none (then only the token is passed). */
  url: string | null;
  token: string;
}

export interface McpWiring {
  argv: string[];
  env: Record<string, string>;
  files: { path: string; content: string }[];
}

/** The server's name in each CLI: Claude Code calls its tools `mcp__cos__create_task`, and so on. */
export const MCP_SERVER_NAME = "cos";

export function wireMcp(preset: PresetName | undefined, argv: string[], endpoint: McpEndpoint | null, runDir: string): McpWiring {
  if (!endpoint) return { argv, env: {}, files: [] };
  const env: Record<string, string> = { COS_MCP_TOKEN: endpoint.token };
  if (!endpoint.url) return { argv, env, files: [] };
  env.COS_MCP_URL = endpoint.url;
  const auth = { Authorization: `Bearer ${endpoint.token}` };
  switch (preset) {
    case "claude-code": {
      // --mcp-config takes a file; its header is literal because Claude Code's ${VAR} expansion in
      // headers has not always worked. MCP tools need a permission in -p mode: allow this server's.
      const path = join(runDir, "claude-mcp.json");
      const config = { mcpServers: { [MCP_SERVER_NAME]: { type: "http", url: endpoint.url, headers: auth } } };
      return { argv: [...argv, "--mcp-config", path, "--allowedTools", `mcp__${MCP_SERVER_NAME}`], env, files: [{ path, content: json(config) }] };
    }
    case "codex": {
      // Codex reads servers only from config.toml; `-c` overrides add one for this run. The token stays in
      // the environment (bearer_token_env_var), off the command line.
      const at = Math.max(1, argv.indexOf("exec") + 1);
      const overrides = [
        "-c", `mcp_servers.${MCP_SERVER_NAME}.url=${JSON.stringify(endpoint.url)}`,
        "-c", `mcp_servers.${MCP_SERVER_NAME}.bearer_token_env_var="COS_MCP_TOKEN"`,
      ];
      return { argv: [...argv.slice(0, at), ...overrides, ...argv.slice(at)], env, files: [] };
    }
    case "gemini": {
      // Gemini CLI has no flag for a settings file, but reads its system settings from the file this
      // variable names; `trust` spares a confirmation prompt nobody is there to answer.
      const path = join(runDir, "gemini-settings.json");
      const config = { mcpServers: { [MCP_SERVER_NAME]: { httpUrl: endpoint.url, headers: auth, trust: true } } };
      return { argv, env: { ...env, GEMINI_CLI_SYSTEM_SETTINGS_PATH: path }, files: [{ path, content: json(config) }] };
    }
    case "aider":
    case undefined:
      return { argv, env, files: [] };
    default: {
      const never: never = preset;
      return never;
    }
  }
}

export function writeWiringFiles(wiring: McpWiring, runDir: string): void {
  if (!wiring.files.length) return;
  mkdirSync(runDir, { recursive: true });
  for (const file of wiring.files) writeFileSync(file.path, file.content, { mode: 0o600 });
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
