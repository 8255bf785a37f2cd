import { describe, expect, it } from "vitest";
import { foldTask, type TaskEvent } from "../../src/domain/task/task.ts";
import type { Database } from "../../src/store/db.ts";
import { migrate } from "../../src/store/migrate.ts";
import { fixtureChildren, liveAndRebuilt, logShapeProblems, openDb, readLog, seededRandom, type LogRow } from "./store-helpers.ts";

const ITERATIONS = 15;
const SEED = 20261123;

/** Each direct append of the crasher names how many events it wrote; all of them or none must be stored. */
function halfAppliedBatches(log: LogRow[]): string[] {
  const groups = new Map<string, number>();
  for (const e of log) {
    const causation = e.meta.causation ?? "";
    if (causation.startsWith("batch:")) groups.set(causation, (groups.get(causation) ?? 0) + 1);
  }
  return [...groups].filter(([causation, n]) => Number(causation.split(":")[2]) !== n).map(([c, n]) => `${c} has ${n}`);
}

/** Every task stream has exactly one projection row, and it says what folding the stream says. */
async function taskRowsThatDisagree(db: Database, log: LogRow[]): Promise<string[]> {
  const streams = new Map<number, TaskEvent[]>();
  for (const e of log) {
    if (!e.stream.startsWith("task-")) continue;
    const id = Number(e.stream.slice(5));
    streams.set(id, [...(streams.get(id) ?? []), { type: e.type, data: e.data, at: e.meta.at } as TaskEvent]);
  }
  // Activity lines are not projected (the stream is their record), but every event moves updated_at.
  const rows = await db.query<{ id: number; status: string; attempt: number; updated_at: string }>(
    "SELECT id, status, attempt, updated_at FROM tasks t",
  );
  const problems: string[] = [];
  if (rows.length !== streams.size) problems.push(`${rows.length} task rows for ${streams.size} task streams`);
  for (const row of rows) {
    const state = foldTask(streams.get(Number(row.id)) ?? []);
    const projected = [row.status, Number(row.attempt), row.updated_at];
    const folded = state ? [state.status, state.attempt, state.updatedAt] : null;
    if (JSON.stringify(projected) !== JSON.stringify(folded)) problems.push(`task ${row.id}: row ${JSON.stringify(projected)}, stream ${JSON.stringify(folded)}`);
  }
  return problems;
}

describe("a writer killed with SIGKILL", () => {
  const crashers = fixtureChildren("store-crasher.ts");

  it("never leaves a half-applied append or projections that differ from a rebuild", async () => {
    const ws = crashers.workspace();
    const setup = await openDb(ws.dbUrl);
    await migrate(setup);
    await setup.close();

    const random = seededRandom(SEED);
    let previous: LogRow[] = [];
    let killedInTransaction = 0;
    const start = (iteration: number) => crashers.spawn([String(SEED + iteration), iteration % 2 === 0 ? "pause" : "free"], ws.env);
    // Each child loads its modules while the one before it runs and is checked; it opens the store on "go".
    let next = start(0);
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const mode = iteration % 2 === 0 ? "pause" : "free";
      const killAt = random.int(1, 25);
      const child = next;
      await child.waitFor((l) => l === "ready");
      child.send("go");
      let inFlight: string[] = [];
      const committed: string[] = [];
      if (mode === "pause") {
        // Let killAt-1 transactions commit, and hold the child inside the next one, after its inserts
        // and projection writes: a transaction continued is committed before the child goes on.
        for (let n = 1; ; n++) {
          const line = await child.waitFor((l) => l.startsWith("in-tx "));
          const ids = JSON.parse(line.slice("in-tx ".length)) as string[];
          if (n === killAt) {
            inFlight = ids;
            break;
          }
          committed.push(...ids);
          child.send("continue");
        }
      } else {
        await child.waitFor((l) => l === `done ${killAt}`);
      }
      child.proc.kill("SIGKILL");
      const exit = await child.exited;
      if (iteration + 1 < ITERATIONS) next = start(iteration + 1);
      const context = `iteration ${iteration} (${mode}, kill at ${killAt}); child stderr: ${child.stderr()}`;
      expect(exit, context).toEqual({ code: null, signal: "SIGKILL" });

      const db = await openDb(ws.dbUrl);
      try {
        const log = await readLog(db);
        expect(logShapeProblems(log), context).toEqual([]);
        // What was committed before stays committed: the old log is a prefix of the new one.
        expect(log.slice(0, previous.length).map((e) => e.eventId), context).toEqual(previous.map((e) => e.eventId));
        expect(halfAppliedBatches(log), context).toEqual([]);
        if (mode === "pause") {
          // Exactly the continued transactions are stored; the one killed open left nothing.
          expect(log.slice(previous.length).map((e) => e.eventId), context).toEqual(committed);
          const ids = new Set(log.map((e) => e.eventId));
          expect(inFlight.length, context).toBeGreaterThan(0);
          expect(inFlight.filter((id) => ids.has(id)), context).toEqual([]);
          killedInTransaction++;
        }
        expect(await taskRowsThatDisagree(db, log), context).toEqual([]);
        const { live, rebuilt, rebuiltInWorker } = await liveAndRebuilt(db);
        expect(live, context).toEqual(rebuilt);
        expect(live, context).toEqual(rebuiltInWorker);
        previous = log;
      } finally {
        await db.close();
      }
    }
    expect(killedInTransaction).toBe(Math.ceil(ITERATIONS / 2));
    const batches = new Set(previous.map((e) => e.meta.causation).filter((c) => c?.startsWith("batch:")));
    expect(batches.size).toBeGreaterThan(5);
    const types = new Set(previous.map((e) => e.type));
    for (const type of ["TaskQueued", "ActivityNoted", "GoalCreated", "BatchAudited", "TaskDispatched", "TaskResultReported", "TaskFailed", "VerdictRecorded", "TaskCancelled"]) {
      expect(types, "the crasher exercised every kind of append").toContain(type);
    }
    console.log(`crash: ${ITERATIONS} kills, ${killedInTransaction} inside a transaction, ${previous.length} events survive`);
  });
});
