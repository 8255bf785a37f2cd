import { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { isKnownRunToken } from "../../src/app/run-tokens.ts";
import { jsonRpcErrorResponse } from "./errors.ts";
import { bodyBound, requireToken } from "./guards.ts";

/** A tool call's arguments (a content item's body, say) fit with room to spare. */
const MCP_BODY = 4_000_000;

/**
 * The MCP server over streamable HTTP at /mcp, stateless (DESIGN §1: nothing kept between requests): each
 * request gets a fresh server and transport, authenticated by the run's bearer token (COS_MCP_TOKEN). A
 * token never issued is a 401; an expired one gets each tool call refused with the reason. Its own app,
 * so that its refusals come back in the JSON-RPC error shape the MCP client reads.
 */
export function mountMcp(app: Hono, ctx: AppContext): void {
  const mcp = new Hono<{ Variables: { runToken: string } }>();
  mcp.onError(jsonRpcErrorResponse);
  mcp.use(
    "/",
    requireToken(
      {
        verifyToken: async (token, c) => {
          c.set("runToken", token);
          return isKnownRunToken(ctx, token);
        },
      },
      { message: "missing or unknown run token: send Authorization: Bearer $COS_MCP_TOKEN" },
    ),
    bodyBound(MCP_BODY, "request"),
  );
  mcp.all("/", async (c) => {
    const token = c.get("runToken");
    const [{ createMcpServer }, { WebStandardStreamableHTTPServerTransport }] = await Promise.all([
      import("../../src/mcp/server.ts"),
      import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"),
    ]);
    const server = createMcpServer(ctx, () => token);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
  app.route("/mcp", mcp);
}
