import { describe, expect, it } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { noteActivity, queueTask, runTaskCommand } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { ConflictError } from "../../src/shared/errors.ts";
import { tempAppsClosedAfterEach } from "../helpers.ts";
import { dumpStore, liveAndRebuilt, logShapeProblems, readLog, taskDefinition } from "./store-helpers.ts";

const META = { at: "2026-11-23T22:00:00.000Z", actor: "cli" };

const queued = (id: number) => ({ type: "TaskQueued", data: taskDefinition(id) });
const note = (text: string) => ({ type: "ActivityNoted", data: { text } });

describe("event store: idempotent appends", () => {
  const app = tempAppsClosedAfterEach();

  it("stores a retried append with the same event ids once and says it was a duplicate", async () => {
    const { ctx } = await app();
    const append = { stream: "task-1", expectedVersion: 0, events: [queued(1), note("first"), note("second")], eventIds: ["e-1", "e-2", "e-3"] };
    const first = await ctx.store.append([append], META);
    expect(first.duplicate).toBe(false);
    expect(first.events.map((e) => [e.eventId, e.version])).toEqual([["e-1", 1], ["e-2", 2], ["e-3", 3]]);
    const before = await dumpStore(ctx.db);

    const retry = await ctx.store.append([append], META);
    expect(retry.duplicate).toBe(true);
    expect(retry.events.map((e) => [e.eventId, e.position, e.version])).toEqual(first.events.map((e) => [e.eventId, e.position, e.version]));
    expect(await dumpStore(ctx.db)).toEqual(before);
    const rows = await ctx.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE event_id = 'e-1'");
    expect(Number(rows[0]!.n)).toBe(1);
    expect((await readLog(ctx.db)).length).toBe(3);
  });

  it("recognises a retry even after the stream moved on, instead of calling it a conflict", async () => {
    const { ctx } = await app();
    await ctx.store.append([{ stream: "task-1", expectedVersion: 0, events: [queued(1)] }], META);
    const retried = { stream: "task-1", expectedVersion: 1, events: [note("from the retried call")], eventIds: ["retry-me"] };
    await ctx.store.append([retried], META);
    await ctx.store.append([{ stream: "task-1", expectedVersion: 2, events: [note("someone else")] }], META);

    const again = await ctx.store.append([retried], META);
    expect(again.duplicate).toBe(true);
    expect(again.events).toHaveLength(1);
    expect(again.events[0]).toMatchObject({ eventId: "retry-me", version: 2 });
    const log = await readLog(ctx.db);
    expect(log.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(log.filter((e) => e.eventId === "retry-me")).toHaveLength(1);
  });

  it("recognises a retry from another connection to the same file", async () => {
    const { ctx, ws } = await app();
    const other = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, workspace: gitWorkspace });
    try {
      const append = { stream: "goal-1", expectedVersion: 0, events: [{ type: "GoalCreated", data: { goalId: 1, title: "G", success: null, project: null } }], eventIds: ["g-1"] };
      expect((await ctx.store.append([append], META)).duplicate).toBe(false);
      expect((await other.store.append([append], META)).duplicate).toBe(true);
      expect(await ctx.db.query("SELECT id FROM goals")).toHaveLength(1);
      expect(await readLog(ctx.db)).toHaveLength(1);
    } finally {
      await other.db.close();
    }
  });

  it("refuses an append whose ids are only partly stored, and writes none of it", async () => {
    const { ctx } = await app();
    await ctx.store.append([{ stream: "task-1", expectedVersion: 0, events: [queued(1)], eventIds: ["a"] }], META);
    const before = await dumpStore(ctx.db);
    await expect(
      ctx.store.append([{ stream: "task-1", expectedVersion: 1, events: [note("x"), note("y")], eventIds: ["a", "b"] }], META),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await dumpStore(ctx.db)).toEqual(before);
  });
});

describe("event store: expected versions", () => {
  const tempApp = tempAppsClosedAfterEach();

  async function seeded() {
    const a = await tempApp();
    await a.ctx.store.append([{ stream: "task-1", expectedVersion: 0, events: [queued(1), note("one")] }], META);
    await a.ctx.store.append([{ stream: "task-2", expectedVersion: 0, events: [queued(2)] }], META);
    return a;
  }

  it.each([
    ["a stale version", 1],
    ["a version ahead of the stream", 5],
    ["0 on a stream that exists", 0],
  ])("refuses %s with a ConflictError and writes nothing", async (_name, expectedVersion) => {
    const { ctx } = await seeded();
    const before = await dumpStore(ctx.db);
    const attempt = ctx.store.append([{ stream: "task-1", expectedVersion, events: [note("late")] }], META);
    await expect(attempt).rejects.toBeInstanceOf(ConflictError);
    await expect(attempt).rejects.toThrow(/task-1 is at version 2, expected/);
    expect(await dumpStore(ctx.db)).toEqual(before);
  });

  it("writes nothing to any stream of a multi-stream append when one of them is stale", async () => {
    const { ctx } = await seeded();
    const before = await dumpStore(ctx.db);
    await expect(
      ctx.store.append(
        [
          { stream: "task-3", expectedVersion: 0, events: [queued(3)] },
          { stream: "task-2", expectedVersion: 1, events: [note("fine")] },
          { stream: "task-1", expectedVersion: 1, events: [note("stale")] },
        ],
        META,
      ),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await dumpStore(ctx.db)).toEqual(before);
  });

  it("rolls back the events and their projections when a write in the same transaction fails", async () => {
    const { ctx } = await seeded();
    const before = await dumpStore(ctx.db);
    let calls = 0;
    ctx.store.onAppend(() => {
      calls++;
      return [{ sql: "INSERT INTO no_such_table VALUES (1)", args: [] }];
    });
    await expect(ctx.store.append([{ stream: "task-1", expectedVersion: 2, events: [note("with a failing outbox")] }], META)).rejects.toThrow(
      /no_such_table/,
    );
    expect(calls).toBe(1);
    expect(await dumpStore(ctx.db)).toEqual(before);
  });

  it("refuses an append when a stream it only read has moved", async () => {
    const { ctx } = await seeded();
    const before = await dumpStore(ctx.db);
    await expect(
      ctx.store.append([{ stream: "task-3", expectedVersion: 0, events: [queued(3)] }], META, [{ stream: "task-1", version: 1 }]),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await dumpStore(ctx.db)).toEqual(before);
    // The same append on the version that is really there goes through.
    await ctx.store.append([{ stream: "task-3", expectedVersion: 0, events: [queued(3)] }], META, [{ stream: "task-1", version: 2 }]);
    expect(await ctx.db.query("SELECT id FROM tasks WHERE id = 3")).toHaveLength(1);
  });

  it("the command layer decides again on the new state after another connection got there first", async () => {
    const { ctx, ws, clock } = await seeded();
    // Another process on the same clock: one with the machine's real clock would be days ahead of this test's.
    const other = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
    try {
      const seenVersions: number[] = [];
      const { state, events } = await runTaskCommand(ctx, 1, META, async (current) => {
        seenVersions.push(current.activity.length);
        // The first decision is made on a state that another process changes before the append.
        if (seenVersions.length === 1) await noteActivity(other, 1, "the other process", "cli");
        return { type: "NoteActivity", data: { text: `decided on ${current.activity.length} lines` } };
      });
      expect(seenVersions).toEqual([2, 3]);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ stream: "task-1", version: 4 });
      expect(state.activity.map((a) => a.text)).toEqual(["queued", "one", "the other process", "decided on 3 lines"]);
      const log = await readLog(ctx.db);
      expect(logShapeProblems(log)).toEqual([]);
      expect(log.filter((e) => e.stream === "task-1").map((e) => e.version)).toEqual([1, 2, 3, 4]);
      const { live, rebuilt, rebuiltInWorker } = await liveAndRebuilt(ctx.db);
      expect(live).toEqual(rebuilt);
      expect(live).toEqual(rebuiltInWorker);
    } finally {
      await other.db.close();
    }
  });

  it("gives a new task its own id when two connections queue at the same time", async () => {
    const { ctx, ws, clock } = await seeded();
    // Another process on the same clock: one with the machine's real clock would be days ahead of this test's.
    const other = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
    try {
      const queue = (c: AppContext, i: number) => queueTask(c, { title: `race ${i}`, type: "research", agent: "builder" }, "cli");
      const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => queue(i % 2 ? ctx : other, i)));
      expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 3));
      const log = await readLog(ctx.db);
      expect(logShapeProblems(log)).toEqual([]);
      const titles = await ctx.db.query<{ title: string }>("SELECT title FROM tasks WHERE id > 2 ORDER BY title");
      expect(titles.map((t) => t.title).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `race ${i}`).sort());
    } finally {
      await other.db.close();
    }
  });

  it("gives up with a ConflictError after its retries when the stream keeps moving, writing nothing of its own", async () => {
    const { ctx } = await seeded();
    let decisions = 0;
    const attempt = runTaskCommand(ctx, 2, META, async () => {
      decisions++;
      await ctx.store.append([{ stream: "task-2", expectedVersion: decisions, events: [note(`interference ${decisions}`)] }], META);
      return { type: "NoteActivity", data: { text: "never stored" } };
    });
    await expect(attempt).rejects.toBeInstanceOf(ConflictError);
    expect(decisions).toBe(21);
    const log = await readLog(ctx.db);
    expect(log.filter((e) => e.stream === "task-2")).toHaveLength(22);
    expect(log.some((e) => JSON.stringify(e.data).includes("never stored"))).toBe(false);
  });
});
