import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers.ts";
import { fixtureChildren, liveAndRebuilt, logShapeProblems, openDb, readLog } from "./store-helpers.ts";

interface WriterReport {
  label: string;
  stored: { eventId: string; stream: string; version: number; position: number }[];
  notes: Record<string, number>;
  errors: string[];
  queued: number;
  goals: number;
  initiatives: number;
  noteCount: number;
  noteRetries: number;
}

const COMMANDS_PER_WRITER = 300;

describe("two writer processes on one store file", () => {
  const writers = fixtureChildren("store-writer.ts");

  it("lose no event, surface no error, and leave every stream gap-free", async () => {
    const ws = writers.workspace();
    // Both start on a file that does not exist yet, so they also race to create and migrate it.
    const children = ([["a", 11], ["b", 22]] as const).map(([label, seed]) => writers.spawn([label, String(seed), String(COMMANDS_PER_WRITER)], ws.env));
    await Promise.all(children.map((c) => c.waitFor((l) => l === "ready")));
    for (const c of children) c.send("go");
    const reports = await Promise.all(
      children.map(async (c) => {
        const line = await c.waitFor((l) => l.startsWith("{"));
        const exit = await c.exited;
        expect({ exit, stderr: c.stderr() }).toEqual({ exit: { code: 0, signal: null }, stderr: "" });
        return JSON.parse(line) as WriterReport;
      }),
    );
    const [a, b] = reports as [WriterReport, WriterReport];

    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    for (const r of reports) expect(r.queued + r.goals + r.initiatives + r.noteCount).toBe(COMMANDS_PER_WRITER);

    const db = await openDb(ws.dbUrl);
    try {
      const log = await readLog(db);
      expect(logShapeProblems(log)).toEqual([]);
      // Every event a writer was told is stored is there, where it was told, and nothing else is.
      expect(log.length).toBe(a.stored.length + b.stored.length);
      const byId = new Map(log.map((e) => [e.eventId, e]));
      for (const s of [...a.stored, ...b.stored]) {
        expect(byId.get(s.eventId), s.eventId).toMatchObject({ stream: s.stream, version: s.version, position: s.position });
      }
      // The two really wrote at the same time: their positions interleave.
      const positions = (r: WriterReport) => r.stored.map((s) => s.position);
      expect(Math.min(...positions(a))).toBeLessThan(Math.max(...positions(b)));
      expect(Math.min(...positions(b))).toBeLessThan(Math.max(...positions(a)));

      // Shared task streams got every note of both writers, and the task row was rewritten after the last.
      for (let id = 1; id <= 5; id++) {
        const notes = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE stream = ? AND type = 'ActivityNoted'", [`task-${id}`]);
        expect(Number(notes[0]!.n), `notes of task ${id}`).toBe((a.notes[id] ?? 0) + (b.notes[id] ?? 0));
        const last = await db.query<{ at: string }>(
          "SELECT json_extract(meta, '$.at') AS at FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1",
          [`task-${id}`],
        );
        const row = await db.query<{ updated_at: string }>("SELECT updated_at FROM tasks WHERE id = ?", [id]);
        expect(row[0]!.updated_at, `task ${id} row is its stream's last event`).toBe(last[0]!.at);
      }
      const ids = await db.query<{ id: number }>("SELECT id FROM tasks ORDER BY id");
      expect(ids.map((r) => Number(r.id))).toEqual(Array.from({ length: a.queued + b.queued }, (_, i) => i + 1));
      const goalCount = await db.query<{ n: number }>("SELECT COUNT(*) AS n, MAX(id) AS m FROM goals");
      expect(Number(goalCount[0]!.n)).toBe(a.goals + b.goals);
      // Both migrated the new file; each migration was applied once.
      const journal = JSON.parse(readFileSync(join(ROOT, "migrations", "meta", "_journal.json"), "utf8")) as { entries: unknown[] };
      const migrations = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM __drizzle_migrations");
      expect(Number(migrations[0]!.n)).toBe(journal.entries.length);

      const { live, rebuilt } = await liveAndRebuilt(db);
      expect(live).toEqual(rebuilt);
      console.log(`two writers: ${log.length} events; note conflicts retried: a ${a.noteRetries}, b ${b.noteRetries}`);
    } finally {
      await db.close();
    }
  });
});
