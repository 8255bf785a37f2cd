import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { queueTask, recordResult, recordVerdict } from "../../src/app/tasks.ts";
import type { AppContext } from "../../src/app/context.ts";
import { CosError } from "../../src/shared/errors.ts";
import { Database } from "../../src/store/db.ts";
import { migrate } from "../../src/store/migrate.ts";
import { rebuildProjections } from "../../src/store/rebuild.ts";
import { closeAfterEach, tempApp } from "../helpers.ts";
import { dispatch, dumpProjections, liveAndRebuilt } from "./store-helpers.ts";

// The two ways a rebuild folds the log (here, or in worker threads over ranges of streams while this
// thread writes), and what either does when it cannot finish. The equality of live and rebuilt tables after long random
// command sequences is in store-rebuild.test.ts; liveAndRebuilt checks both ways each time.

async function someHistory(ctx: AppContext, clock: { advance(ms: number): void }, tasks: number): Promise<void> {
  for (let i = 0; i < tasks; i++) {
    const id = await queueTask(ctx, { title: `Task ${i}`, type: "research", agent: "researcher" }, "cli");
    if (i % 3 === 2) continue;
    await dispatch(ctx, id);
    clock.advance(60_000);
    await recordResult(ctx, id, { markdown: `## Summary\nFound ${i} things.\n## Handoff\nRead them.`, exitCode: 0 }, "agent:researcher");
    await recordVerdict(ctx, id, i % 2 ? "approved" : "sent_back", i % 2 ? null : "dig deeper", "user:telegram:1");
  }
}

/** Appends an event whose data is not JSON, past every check of the command layer. */
async function appendUnreadableEvent(db: Database, stream: string): Promise<{ position: number; version: number }> {
  return db.write(async (tx) => {
    const version = Number((await tx.execute({ sql: "SELECT MAX(version) AS v FROM events WHERE stream = ?", args: [stream] })).rows[0]?.v ?? 0);
    const meta = JSON.stringify({ at: "2026-11-24T00:00:00.000Z", actor: "cli", causation: null });
    const result = await tx.execute({
      sql: "INSERT INTO events (event_id, stream, version, type, data, meta) VALUES (?, ?, ?, 'ActivityNoted', '{\"text\": \"cut off', ?)",
      args: [randomUUID(), stream, version + 1, meta],
    });
    return { position: Number(result.lastInsertRowid), version: version + 1 };
  });
}

describe("rebuildProjections", () => {
  const keep = closeAfterEach();

  it("gives the same tables folding here and in any number of workers, whatever the page and batch sizes", async () => {
    const app = keep(await tempApp());
    await someHistory(app.ctx, app.clock, 40);
    const { live, rebuilt, rebuiltInWorker } = await liveAndRebuilt(app.ctx.db);
    expect(rebuilt).toEqual(live);
    expect(rebuiltInWorker).toEqual(live);
    const first = await rebuildProjections(app.ctx.db, { workers: 0 });
    expect(first.streams).toBeGreaterThanOrEqual(40);
    for (const sizes of [{ pageSize: 1, batchRows: 1 }, { pageSize: 5, batchRows: 1_000 }, { pageSize: 1_000, batchRows: 2 }]) {
      for (const workers of [0, 1, 3, 7]) {
        const report = await rebuildProjections(app.ctx.db, { workers, ...sizes });
        expect(report).toMatchObject({ events: first.events, streams: first.streams });
        expect(report.workers, "workers used").toBe(Math.min(workers, first.streams));
        expect(await dumpProjections(app.ctx.db), JSON.stringify({ workers, ...sizes })).toEqual(live);
      }
    }
    expect(live.tasks).toHaveLength(40);
    expect(live.verdicts!.length).toBeGreaterThan(20);
  });

  it("folds here for a small log and for a store in memory, and says why it cannot use a worker there", async () => {
    const app = keep(await tempApp());
    await someHistory(app.ctx, app.clock, 3);
    expect((await rebuildProjections(app.ctx.db)).workers).toBe(0);

    const memory = keep(await Database.open({ url: "file::memory:" }));
    await migrate(memory);
    expect((await rebuildProjections(memory)).workers).toBe(0);
    await expect(rebuildProjections(memory, { workers: 2 })).rejects.toThrow(/need an embedded file store/);
  });

  for (const workers of [0, 2]) {
    it(`changes nothing and names the event when one cannot be read (${workers ? "in a worker thread" : "here"})`, async () => {
      const app = keep(await tempApp());
      await someHistory(app.ctx, app.clock, 12);
      const before = await dumpProjections(app.ctx.db);
      const { position, version } = await appendUnreadableEvent(app.ctx.db, "task-5");

      const error = await rebuildProjections(app.ctx.db, { workers, pageSize: 4, batchRows: 2 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CosError);
      expect((error as CosError).message).toBe(`cannot rebuild: the data of event ${position} (task-5 version ${version}) is not JSON; nothing was changed`);
      // The transaction rolled back: the tables are as they were, full-text index included.
      expect(await dumpProjections(app.ctx.db)).toEqual(before);
      // And the store is still usable: once the event is repaired, a rebuild goes through.
      await app.ctx.db.write((tx) => tx.execute({ sql: "UPDATE events SET data = '{\"text\": \"repaired\"}' WHERE position = ?", args: [position] }));
      expect((await rebuildProjections(app.ctx.db, { workers })).events).toBeGreaterThan(12);
    });
  }
});
