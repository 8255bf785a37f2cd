import { join } from "node:path";
import { serve as serveNode } from "@hono/node-server";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { claimRuns } from "../../src/app/runs.ts";
import { queueTask, type TaskInput } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { createHttpApp } from "../../handlers/http/app.ts";
import { dispatch } from "../fixtures/store-kit.ts";
import { COS_BIN, ROOT, movableClock, tempWorkspace, type MovableClock, type TempWorkspace } from "../helpers.ts";

// Shared by tests/integration/mcp*.test.ts: a store with two projects, runs with their MCP tokens, and the
// SDK's own client over either transport.

export const MCP_TEST_CONFIG = {
  projects: { site: { repo: "./site" }, shop: { repo: "./shop" } },
  agents: {
    builder: { command: ["node", join(ROOT, "tests", "fixtures", "agent.js")] },
    writer: { command: ["node", join(ROOT, "tests", "fixtures", "agent.js")] },
  },
  mcp: { maxTasksPerRun: 3, maxTasksPerNight: 5 },
};

export interface McpApp {
  ctx: AppContext;
  ws: TempWorkspace;
  clock: MovableClock;
  /** The /mcp endpoint of the HTTP app, served on loopback. */
  url: string;
  close(): Promise<void>;
}

export async function mcpApp(config: object = MCP_TEST_CONFIG): Promise<McpApp> {
  const ws = tempWorkspace(config);
  const clock = movableClock("2026-11-23T22:00:00.000Z");
  const ctx = await openApp({ env: parseEnv({ ...ws.env, COS_PORT: "0" }), cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
  const app = createHttpApp(ctx);
  const { server, port } = await new Promise<{ server: ReturnType<typeof serveNode>; port: number }>((resolve) => {
    const server = serveNode({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => resolve({ server, port: info.port }));
  });
  return {
    ctx,
    ws,
    clock,
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await new Promise<void>((done) => server.close(() => done()));
      await ctx.db.close();
      ws.cleanup();
    },
  };
}

export interface Run {
  taskId: number;
  attempt: number;
  token: string;
}

/** Queues a task, dispatches it and claims it as runner r1: a run in progress, with its MCP token. */
export async function startRun(ctx: AppContext, input: Partial<TaskInput> & { project: string | null }): Promise<Run> {
  const id = await queueTask(ctx, { title: "Write the launch post", type: "research", agent: "writer", ...input }, "cli");
  return claim(ctx, id);
}

export async function claim(ctx: AppContext, id: number): Promise<Run> {
  await dispatch(ctx, id);
  const [run] = await claimRuns(ctx, { runner: "r1", slots: 1, taskIds: [id] });
  if (!run?.mcpToken) throw new Error(`task #${id} was not claimed`);
  return { taskId: id, attempt: run.attempt, token: run.mcpToken };
}

export type Connect = (token: string) => Promise<Client>;

export function httpConnect(app: McpApp, opened: Client[]): Connect {
  return async (token) => {
    const client = new Client({ name: "cos-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(app.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    opened.push(client);
    return client;
  };
}

/** `cos mcp` through the real bin, on the store file, at the test clock's instant (COS_NOW). */
export function stdioConnect(app: McpApp, opened: Client[]): Connect {
  return async (token) => {
    const client = new Client({ name: "cos-test", version: "1.0.0" });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [COS_BIN, "mcp"],
      cwd: app.ws.dir,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...app.ws.env, COS_MCP_TOKEN: token, COS_NOW: app.clock.iso() },
      stderr: "pipe",
    });
    await client.connect(transport);
    opened.push(client);
    return client;
  };
}

export interface ToolAnswer {
  isError: boolean;
  text: string;
  value: Record<string, any> | undefined;
}

export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolAnswer> {
  const result = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content: { type: string; text?: string }[];
    structuredContent?: Record<string, unknown>;
  };
  return { isError: result.isError === true, text: result.content.map((c) => c.text ?? "").join("\n"), value: result.structuredContent };
}
