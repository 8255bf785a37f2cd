import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { parseEnv } from "../../src/config/env.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import type { CliIo } from "./io.ts";

/**
 * `cos mcp`: the MCP server over stdio, for an agent CLI that starts it as a child. With COS_MCP_URL set
 * (the runner sets it next to COS_MCP_TOKEN) it relays to that streamable-HTTP endpoint, so it needs no
 * store and no store credentials; without, it serves from the store of COS_DB_URL. Stdout carries the
 * protocol only: diagnostics go to stderr.
 */
export async function serveMcpStdio(io: CliIo): Promise<number> {
  const env = parseEnv(io.env);
  if (!env.COS_MCP_TOKEN) throw new ValidationError("cos mcp needs COS_MCP_TOKEN (the runner sets it for each agent run)");
  const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
  const local = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    local.onclose = () => resolve();
  });
  if (env.COS_MCP_URL) {
    await relay(local, env.COS_MCP_URL, env.COS_MCP_TOKEN, io);
    await closed;
    return 0;
  }
  const ctx = await openApp({ env, cwd: io.cwd, workspace: gitWorkspace });
  try {
    const { createMcpServer } = await import("../../src/mcp/server.ts");
    const server = createMcpServer(ctx, () => env.COS_MCP_TOKEN);
    await server.connect(local);
    // The SDK's stdio transport does not notice the end of stdin by itself.
    process.stdin.once("end", () => void server.close());
    await closed;
  } finally {
    await ctx.db.close();
  }
  return 0;
}

/** Passes JSON-RPC messages both ways; a request the endpoint could not take is answered with its error. */
async function relay(local: import("@modelcontextprotocol/sdk/server/stdio.js").StdioServerTransport, url: string, token: string, io: CliIo) {
  const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
  const upstream = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  upstream.onmessage = (message) => void local.send(message);
  upstream.onerror = (error) => io.err(`cos mcp: ${url}: ${error.message}`);
  local.onmessage = (message: JSONRPCMessage) => {
    upstream.send(message).catch((error: Error) => {
      if ("id" in message && "method" in message) {
        void local.send({ jsonrpc: "2.0", id: message.id, error: { code: -32000, message: `cos mcp could not reach ${url}: ${error.message}` } });
      }
    });
  };
  const onClose = local.onclose;
  local.onclose = () => {
    void upstream.close();
    onClose?.();
  };
  process.stdin.once("end", () => void local.close());
  await upstream.start();
  await local.start();
}
