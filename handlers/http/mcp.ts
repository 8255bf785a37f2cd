import type { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { isKnownRunToken } from "../../src/app/run-tokens.ts";

/**
 * The MCP server over streamable HTTP at /mcp, stateless (DESIGN §1: nothing kept between requests): each
 * request gets a fresh server and transport, authenticated by the run's bearer token (COS_MCP_TOKEN). A
 * token never issued is a 401; an expired one gets each tool call refused with the reason.
 */
export function mountMcp(app: Hono, ctx: AppContext): void {
  app.all("/mcp", async (c) => {
    const token = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1];
    if (!(await isKnownRunToken(ctx, token))) {
      return c.json(
        { jsonrpc: "2.0", error: { code: -32001, message: "missing or unknown run token: send Authorization: Bearer $COS_MCP_TOKEN" }, id: null },
        401,
      );
    }
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
}
