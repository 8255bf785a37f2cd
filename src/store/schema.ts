import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// The log. Everything else in this file is a projection: derived from the log, rebuilt by `cos rebuild`.
export const events = sqliteTable(
  "events",
  {
    position: integer("position").primaryKey({ autoIncrement: true }),
    eventId: text("event_id").notNull(),
    stream: text("stream").notNull(),
    version: integer("version").notNull(),
    type: text("type").notNull(),
    data: text("data").notNull(),
    meta: text("meta").notNull(),
  },
  (t) => [uniqueIndex("events_event_id").on(t.eventId), uniqueIndex("events_stream_version").on(t.stream, t.version)],
);

export const goals = sqliteTable("goals", {
  id: integer("id").primaryKey(),
  title: text("title").notNull(),
  success: text("success"),
  project: text("project"),
  createdAt: text("created_at").notNull(),
});

export const initiatives = sqliteTable(
  "initiatives",
  {
    id: integer("id").primaryKey(),
    goalId: integer("goal_id").notNull(),
    title: text("title").notNull(),
    success: text("success"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("initiatives_goal").on(t.goalId)],
);

export const tasks = sqliteTable(
  "tasks",
  {
    id: integer("id").primaryKey(),
    title: text("title").notNull(),
    description: text("description").notNull(),
    type: text("type").notNull(),
    agent: text("agent").notNull(),
    project: text("project"),
    goalId: integer("goal_id"),
    initiativeId: integer("initiative_id"),
    area: text("area"),
    isolation: text("isolation"),
    tierPin: text("tier_pin"),
    tier: text("tier"),
    priority: integer("priority").notNull(),
    attempt: integer("attempt").notNull(),
    status: text("status").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    dispatchedAt: text("dispatched_at"),
    runner: text("runner"),
    leaseUntil: text("lease_until"),
    promptHash: text("prompt_hash"),
    finishedAt: text("finished_at"),
    notBefore: text("not_before"),
    cancelReason: text("cancel_reason"),
    /** JSON: the last result, the sent-back feedback, the auto-approval and the last failure. */
    result: text("result"),
    feedback: text("feedback"),
    autoApproved: text("auto_approved"),
    failure: text("failure"),
    /** The blockers and skills as comma lists on the row too: the resolver reads 10,000 open tasks without a join. */
    blockedBy: text("blocked_by"),
    skills: text("skills"),
  },
  (t) => [index("tasks_status").on(t.status), index("tasks_initiative").on(t.initiativeId)],
);

export const taskBlockers = sqliteTable(
  "task_blockers",
  {
    taskId: integer("task_id").notNull(),
    blockerId: integer("blocker_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.blockerId] }), index("task_blockers_blocker").on(t.blockerId)],
);

/** Human verdicts with the agent and type they judged: the evidence trust is computed from. */
export const verdicts = sqliteTable(
  "verdicts",
  {
    taskId: integer("task_id").notNull(),
    seq: integer("seq").notNull(),
    position: integer("position").notNull(),
    agent: text("agent").notNull(),
    type: text("type").notNull(),
    verdict: text("verdict").notNull(),
    notes: text("notes"),
    by: text("by").notNull(),
    attempt: integer("attempt").notNull(),
    at: text("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.seq] }), index("verdicts_agent_type").on(t.agent, t.type, t.position)],
);

/** One row per dispatch: the run history, and what the nightly budget counts. */
export const taskRuns = sqliteTable(
  "task_runs",
  {
    taskId: integer("task_id").notNull(),
    attempt: integer("attempt").notNull(),
    seq: integer("seq").notNull(),
    dispatchedAt: text("dispatched_at").notNull(),
    runner: text("runner"),
    tier: text("tier").notNull(),
    startedAt: text("started_at"),
    finishedAt: text("finished_at"),
    outcome: text("outcome"),
    costUsd: real("cost_usd"),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.seq] }), index("task_runs_dispatched").on(t.dispatchedAt)],
);

export const settings = sqliteTable("settings", {
  stream: text("stream").primaryKey(),
  mode: text("mode").notNull(),
  paused: integer("paused").notNull(),
  pausedReason: text("paused_reason"),
  updatedAt: text("updated_at"),
});

/** Per (agent, type): the person's pin and the tier trust last gave it. */
export const trust = sqliteTable(
  "trust",
  {
    stream: text("stream").primaryKey(),
    agent: text("agent").notNull(),
    type: text("type").notNull(),
    pin: text("pin"),
    trustTier: text("trust_tier").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [uniqueIndex("trust_agent_type").on(t.agent, t.type)],
);

/**
 * Lease renewals. Not a projection: heartbeats are kept out of the log (DESIGN §2), so this table is
 * operational state like the outbox, and `cos rebuild` leaves it alone. A renewal counts only for
 * the attempt it names, which fences out a runner that lost its lease.
 */
export const leases = sqliteTable("leases", {
  taskId: integer("task_id").primaryKey(),
  attempt: integer("attempt").notNull(),
  runner: text("runner").notNull(),
  leaseUntil: text("lease_until").notNull(),
});

/**
 * Runners seen recently, with their slots: what "a runner has a free slot" (DESIGN §4) is computed
 * from. Operational state like `leases`; not a projection.
 */
export const runners = sqliteTable("runners", {
  id: text("id").primaryKey(),
  slots: integer("slots").notNull(),
  labels: text("labels").notNull(),
  lastSeen: text("last_seen").notNull(),
});

/**
 * Notifications to deliver (DESIGN §1): written in the transaction of the events that caused them,
 * delivered by a worker with retries. Operational, not a projection: a rebuild must not resend.
 */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    platform: text("platform").notNull(),
    kind: text("kind").notNull(),
    payload: text("payload").notNull(),
    dedupeKey: text("dedupe_key").notNull(),
    taskId: integer("task_id"),
    attempt: integer("attempt"),
    createdAt: text("created_at").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: text("next_attempt_at").notNull(),
    claimedUntil: text("claimed_until"),
    deliveredAt: text("delivered_at"),
    failedAt: text("failed_at"),
    lastError: text("last_error"),
  },
  (t) => [uniqueIndex("outbox_dedupe").on(t.dedupeKey), index("outbox_due").on(t.deliveredAt, t.nextAttemptAt)],
);

/**
 * Where a platform posted a task attempt's messages, so that a later event edits them in place: its
 * review cards (`kind` card: the outbox's, and the copies `/review` sent, all edited by the verdict),
 * and the message saying the attempt started (`kind` run, edited when it ends).
 */
export const chatMessages = sqliteTable(
  "chat_messages",
  {
    platform: text("platform").notNull(),
    ref: text("ref").notNull(),
    taskId: integer("task_id").notNull(),
    attempt: integer("attempt").notNull(),
    kind: text("kind").notNull().default("card"),
  },
  (t) => [primaryKey({ columns: [t.platform, t.ref] }), index("chat_messages_attempt").on(t.platform, t.taskId, t.attempt, t.kind)],
);

/**
 * The names people go by on a platform (a Telegram first name, a Slack handle), as their last update
 * carried them. Events record only the stable actor id (`user:telegram:42`); views put the name in
 * when they show it, so a name can change, or be forgotten by deleting its row, without touching the log.
 */
export const chatPeople = sqliteTable(
  "chat_people",
  {
    platform: text("platform").notNull(),
    userId: text("user_id").notNull(),
    name: text("name").notNull(),
    seenAt: text("seen_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.userId] })],
);

/**
 * The chat inbox: every incoming update (Telegram update_id, Slack event id) is stored once, acknowledged,
 * then handled; a retry of the same update finds its row and does nothing, and rows left unhandled by
 * a crash are handled on the next start.
 */
export const chatUpdates = sqliteTable(
  "chat_updates",
  {
    platform: text("platform").notNull(),
    updateId: text("update_id").notNull(),
    payload: text("payload").notNull(),
    receivedAt: text("received_at").notNull(),
    handledAt: text("handled_at"),
  },
  (t) => [primaryKey({ columns: [t.platform, t.updateId] }), index("chat_updates_pending").on(t.handledAt)],
);

/** Questions waiting for an answer: a force-reply (or modal) asking for send-back notes. */
export const chatPrompts = sqliteTable(
  "chat_prompts",
  {
    platform: text("platform").notNull(),
    ref: text("ref").notNull(),
    taskId: integer("task_id").notNull(),
    attempt: integer("attempt").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.ref] })],
);

/** Skills a task names beyond its agent's (the resolver holds a task whose skill is missing). */
export const taskSkills = sqliteTable(
  "task_skills",
  {
    taskId: integer("task_id").notNull(),
    skill: text("skill").notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.skill] })],
);

/** Tasks an agent queued through the MCP server: the run that did it, and the chain's depth. */
export const taskOrigins = sqliteTable(
  "task_origins",
  {
    taskId: integer("task_id").primaryKey(),
    parentTaskId: integer("parent_task_id").notNull(),
    parentAttempt: integer("parent_attempt").notNull(),
    generation: integer("generation").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("task_origins_parent").on(t.parentTaskId, t.parentAttempt), index("task_origins_created").on(t.createdAt)],
);

export const contentItems = sqliteTable(
  "content_items",
  {
    id: integer("id").primaryKey(),
    project: text("project"),
    title: text("title").notNull(),
    channel: text("channel").notNull(),
    status: text("status").notNull(),
    url: text("url"),
    body: text("body").notNull(),
    createdByTask: integer("created_by_task"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("content_items_project").on(t.project)],
);

/** Engagement signals, one row per SignalReported: what a content task's prompt summarises. */
export const contentSignals = sqliteTable(
  "content_signals",
  {
    itemId: integer("item_id").notNull(),
    seq: integer("seq").notNull(),
    metric: text("metric").notNull(),
    value: real("value").notNull(),
    at: text("at").notNull(),
    reportedAt: text("reported_at").notNull(),
    taskId: integer("task_id"),
  },
  (t) => [primaryKey({ columns: [t.itemId, t.seq] }), index("content_signals_at").on(t.at)],
);

/**
 * The MCP token of each run, by its hash: valid only while the lease of that (task, attempt) lives.
 * Operational state like `leases`; not a projection. A new attempt's token replaces the old one.
 */
export const runTokens = sqliteTable("run_tokens", {
  taskId: integer("task_id").primaryKey(),
  tokenHash: text("token_hash").notNull().unique(),
  attempt: integer("attempt").notNull(),
  project: text("project"),
  createdAt: text("created_at").notNull(),
});

// `memory_fts`, the full-text index `search_memory` reads (an FTS5 virtual table drizzle cannot
// describe), is created by hand at the end of migration 0003_content_memory.sql.
