import { createHash, randomBytes } from "node:crypto";
import { UnauthorizedError } from "../shared/errors.ts";
import type { InStatement } from "@libsql/client";
import type { AppContext } from "./context.ts";

// Each run gets a token for the MCP server (COS_MCP_TOKEN), minted when a runner claims the task. It
// names one (task, attempt, project) and works only while that attempt's lease lives: once the run
// reports, fails or loses its lease, the token is refused. Only its hash is stored.

const TOKEN = /^cos_run_[A-Za-z0-9_-]{43}$/;

/** What a run's token lets it see and do: its own task, and its project's data. */
export interface RunScope {
  taskId: number;
  attempt: number;
  /** The task's project; tasks without one share the "no project" space. */
  project: string | null;
  agent: string;
  type: string;
  goalId: number | null;
  initiativeId: number | null;
  /** 0 for a person's task, 1 + its creator's for a task an agent queued. */
  generation: number;
}

function hashOf(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Mints the token of a claimed attempt, replacing the task's earlier one by the statement returned (part of the claim's batch). */
export function mintRunToken(run: { taskId: number; attempt: number; project: string | null }, at: string): { token: string; statement: InStatement } {
  const token = `cos_run_${randomBytes(32).toString("base64url")}`;
  return {
    token,
    statement: {
      sql: "INSERT OR REPLACE INTO run_tokens (task_id, token_hash, attempt, project, created_at) VALUES (?, ?, ?, ?, ?)",
      args: [run.taskId, hashOf(token), run.attempt, run.project, at],
    },
  };
}

/** True when the token was ever minted (expired or not): unknown ones get a plain 401 over HTTP. */
export async function isKnownRunToken(ctx: AppContext, token: string | undefined): Promise<boolean> {
  if (!token || !TOKEN.test(token)) return false;
  const rows = await ctx.db.query("SELECT 1 FROM run_tokens WHERE token_hash = ?", [hashOf(token)]);
  return rows.length > 0;
}

/** The scope of a live run's token; refused, with a reason an agent can read, for any other. */
export async function requireLiveRun(ctx: AppContext, token: string | undefined): Promise<RunScope> {
  if (!token) throw new UnauthorizedError("no run token: the MCP server serves agents during a run (COS_MCP_TOKEN)");
  if (!TOKEN.test(token)) throw new UnauthorizedError("that is not a run token (COS_MCP_TOKEN)");
  const rows = await ctx.db.query<Record<string, unknown>>(
    `SELECT r.task_id, r.attempt, r.project, t.status, t.attempt AS task_attempt, t.agent, t.type, t.goal_id, t.initiative_id,
            l.attempt AS lease_attempt, l.lease_until, COALESCE(o.generation, 0) AS generation
     FROM run_tokens r JOIN tasks t ON t.id = r.task_id
     LEFT JOIN leases l ON l.task_id = r.task_id LEFT JOIN task_origins o ON o.task_id = r.task_id
     WHERE r.token_hash = ?`,
    [hashOf(token)],
  );
  const row = rows[0];
  if (!row) throw new UnauthorizedError("unknown run token: it was never issued or its task has run again since");
  const attempt = Number(row.attempt);
  const live =
    row.status === "running" &&
    Number(row.task_attempt) === attempt &&
    Number(row.lease_attempt) === attempt &&
    String(row.lease_until ?? "") > ctx.clock().toISOString();
  if (!live) {
    throw new UnauthorizedError(
      `the run token has expired: task #${row.task_id} attempt ${attempt} no longer holds a lease (the task is ${row.status}, attempt ${row.task_attempt}); stop calling cos tools`,
    );
  }
  return {
    taskId: Number(row.task_id),
    attempt,
    project: (row.project as string | null) ?? null,
    agent: String(row.agent),
    type: String(row.type),
    goalId: row.goal_id === null ? null : Number(row.goal_id),
    initiativeId: row.initiative_id === null ? null : Number(row.initiative_id),
    generation: Number(row.generation),
  };
}
