import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { reportSignal, saveContentItem } from "../app/content.ts";
import type { AppContext } from "../app/context.ts";
import { queueFollowUp } from "../app/follow-ups.ts";
import { searchMemory } from "../app/memory.ts";
import { requireLiveRun, type RunScope } from "../app/run-tokens.ts";
import { noteActivity } from "../app/tasks.ts";
import { z } from "../config/zod.ts";
import { CONTENT_STATUSES } from "../domain/content/content.ts";
import { toCosError } from "../shared/errors.ts";

// The tools an agent calls during its run (over stdio, `cos mcp`, or streamable HTTP at /mcp). Every call
// re-checks the run's token, so a token stops working the moment its lease ends; every tool acts inside
// the run's own task and project, and none can touch a verdict, a tier or a priority. Inputs are strict:
// an unknown field (say, `tier`) is refused rather than ignored.

const id = z.number().check(z.int(), z.positive());
const say = (text: string) => z.describe(text);

const createTaskInput = z.strictObject({
  title: z.string().check(z.minLength(1), z.maxLength(200), say("What the follow-up task should do, in a line")),
  description: z.optional(z.string().check(z.maxLength(20_000), say("Details: what, why, where to start"))),
  type: z.optional(z.string().check(z.maxLength(40), say("code, research, content or a configured type; default: this task's type"))),
  agent: z.optional(z.string().check(z.maxLength(40), say("A configured agent; default: this task's agent"))),
  blockedBy: z.optional(
    z.array(id).check(z.maxLength(20), say("Task ids it must wait for, all in this project; default: this task, so a person approves it first")),
  ),
  area: z.optional(z.string().check(z.maxLength(60), say("Module area: no two tasks of one area run at once"))),
  skills: z.optional(z.array(z.string().check(z.maxLength(64))).check(z.maxLength(10), say("Skills (folders with a SKILL.md) the task needs"))),
});

const logActivityInput = z.strictObject({
  text: z.string().check(z.minLength(1), z.maxLength(2000), say("A short progress note for the person reviewing this task")),
});

const reportSignalInput = z.strictObject({
  contentItemId: id.check(say("The content item the signal is about (see update_content_item)")),
  metric: z.string().check(z.minLength(1), z.maxLength(40), say("views, likes, clicks, replies, subscribers, …")),
  value: z.number().check(say("The amount observed (an increment, not a running total)")),
  at: z.optional(z.string().check(z.maxLength(40), say("When it was observed, ISO-8601; default now"))),
});

const updateContentItemInput = z.strictObject({
  id: z.optional(id.check(say("The item to change; leave out to create a new item"))),
  title: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  channel: z.optional(z.string().check(z.minLength(1), z.maxLength(40), say("blog, newsletter, x, linkedin, …"))),
  status: z.optional(z.enum(CONTENT_STATUSES)),
  url: z.optional(z.nullable(z.string().check(z.maxLength(2000)))),
  body: z.optional(z.string().check(z.maxLength(100_000))),
});

const searchMemoryInput = z.strictObject({
  query: z.string().check(z.minLength(1), z.maxLength(500), say("Words to look for in earlier tasks' results, handoffs, learnings and notes")),
  limit: z.optional(z.number().check(z.int(), z.gte(1), z.lte(50), say("At most this many tasks, best first; default 10"))),
});

const INSTRUCTIONS =
  "ChiefOfStaff tools for the task you are running: note progress (log_activity), look up what earlier tasks of this " +
  "project learned (search_memory), keep content items and their engagement signals (update_content_item, report_signal), " +
  "and queue a follow-up task for a person to review (create_task; a few per run at most).";

/** An MCP server for one connection; `token` is read at each call, so an expired run is refused at once. */
export function createMcpServer(ctx: AppContext, token: () => string | undefined): McpServer {
  const server = new McpServer({ name: "chiefofstaff", version: "0.1.0" }, { instructions: INSTRUCTIONS });
  const act = <A>(work: (scope: RunScope, args: A) => Promise<Record<string, unknown>>) =>
    async (args: A): Promise<CallToolResult> => {
      try {
        const scope = await requireLiveRun(ctx, token());
        const value = await work(scope, args);
        return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], structuredContent: value };
      } catch (error) {
        const cos = toCosError(error);
        return { isError: true, content: [{ type: "text", text: cos.code === "internal" ? `internal error: ${cos.message}` : cos.message }] };
      }
    };
  const actor = (scope: RunScope) => `agent:${scope.agent}`;

  server.registerTool(
    "create_task",
    {
      title: "Queue a follow-up task",
      description:
        "Queue a follow-up task in this project. It is always reviewed by a person (tier gate) and by default waits for this " +
        "task's approval. At most a few per run and per night; refused beyond that, and for chains of agent-created tasks " +
        "deeper than two. Prefer your result's Handoff for anything that is not clearly a separate piece of work.",
      inputSchema: createTaskInput,
    },
    act(async (scope, args: z.infer<typeof createTaskInput>) => ({ ...(await queueFollowUp(ctx, scope, args)) })),
  );

  server.registerTool(
    "log_activity",
    { title: "Note progress on this task", description: "Add a short note to this task's activity log.", inputSchema: logActivityInput },
    act(async (scope, args: z.infer<typeof logActivityInput>) => {
      await noteActivity(ctx, scope.taskId, `${scope.agent}: ${args.text}`, actor(scope));
      return { taskId: scope.taskId, noted: true };
    }),
  );

  server.registerTool(
    "report_signal",
    {
      title: "Report an engagement signal",
      description: "Record an engagement signal (views, likes, clicks, …) for a content item of this project.",
      inputSchema: reportSignalInput,
    },
    act(async (scope, args: z.infer<typeof reportSignalInput>) =>
      reportSignal(ctx, scope.project, { itemId: args.contentItemId, metric: args.metric, value: args.value, at: args.at }, actor(scope), scope.taskId),
    ),
  );

  server.registerTool(
    "update_content_item",
    {
      title: "Create or update a content item",
      description: "Without an id, create a content item (title and channel needed); with one, change the fields given.",
      inputSchema: updateContentItemInput,
    },
    act(async (scope, args: z.infer<typeof updateContentItemInput>) => {
      const { item, created, changed } = await saveContentItem(ctx, scope.project, args, actor(scope), scope.taskId);
      return { created, changed, item };
    }),
  );

  server.registerTool(
    "search_memory",
    {
      title: "Search what earlier tasks learned",
      description: "Full-text search over the results, handoffs, learnings and notes of this project's tasks; best matches first, with task ids.",
      inputSchema: searchMemoryInput,
    },
    act(async (scope, args: z.infer<typeof searchMemoryInput>) => ({
      hits: await searchMemory(ctx.db, scope.project, args.query, args.limit ?? 10),
    })),
  );

  return server;
}
