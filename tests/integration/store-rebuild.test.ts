import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { createGoal, createInitiative } from "../../src/app/goals.ts";
import { cancelTask, editTask, noteActivity, queueTask, recordResult, recordVerdict } from "../../src/app/tasks.ts";
import type { TaskEdit, Verdict } from "../../src/domain/task/task.ts";
import { CosError } from "../../src/shared/errors.ts";
import { closeAfterEach, tempApp, type MovableClock } from "../helpers.ts";
import { dispatch, dumpStore, liveAndRebuilt, logShapeProblems, readLog } from "./store-helpers.ts";

// Commands are drawn as abstract picks (an index into the tasks, a wish to hit a task in the right
// status), resolved against the store when they run, so every sequence is meaningful. Most are
// well-formed; a `flaw` makes one part of a command wrong, so refusals are drawn too.
type Pick = { target: number; prefer: boolean };
type Op =
  | {
      kind: "queue";
      flaw: QueueFlaw | null;
      type: string;
      agent: string;
      blockers: number[];
      goal: number | null;
      initiative: number | null;
      priority: number;
      area: string | null;
    }
  | ({ kind: "edit"; flaw: EditFlaw | null; blockers?: number[]; priority?: number; area?: string | null; agent?: string; tier?: "auto" | "quick" | "gate" | null } & Pick)
  | ({ kind: "cancel" } & Pick)
  | ({ kind: "dispatch" } & Pick)
  | ({ kind: "result"; exitCode: number } & Pick)
  | ({ kind: "verdict"; verdict: Verdict; notes: string | null } & Pick)
  | ({ kind: "note"; text: string } & Pick)
  | { kind: "goal"; title: string; success: string | null }
  | { kind: "initiative"; goal: number; success: string | null };

type QueueFlaw = "blank title" | "code without a project" | "unknown type" | "unknown agent" | "bad area" | "unknown blocker" | "unknown goal" | "initiative of another goal";
type EditFlaw = "self" | "unknown blocker" | "unknown agent" | "bad area";

const AGENTS = ["builder", "writer", "researcher"];
const BAD_AREA = "Bad Area!";
/** Mostly null: a flaw in one command of five or so. */
const flawArb = <T extends string>(...flaws: T[]): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 4 * flaws.length, arbitrary: fc.constant(null) }, ...flaws.map((f) => ({ weight: 1, arbitrary: fc.constant(f) })));
const pick = { target: fc.nat({ max: 1000 }), prefer: fc.nat({ max: 4 }).map((n) => n > 0) };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("queue" as const),
      flaw: flawArb<QueueFlaw>("blank title", "code without a project", "unknown type", "unknown agent", "bad area", "unknown blocker", "unknown goal", "initiative of another goal"),
      type: fc.constantFrom("research", "content"),
      agent: fc.constantFrom(...AGENTS),
      blockers: fc.array(fc.nat({ max: 1000 }), { maxLength: 3 }),
      goal: fc.option(fc.nat({ max: 1000 }), { freq: 2 }),
      initiative: fc.option(fc.nat({ max: 1000 }), { freq: 2 }),
      priority: fc.integer({ min: -2, max: 5 }),
      area: fc.constantFrom(null, null, "blog", "api", "Docs "),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        kind: fc.constant("edit" as const),
        flaw: flawArb<EditFlaw>("self", "unknown blocker", "unknown agent", "bad area"),
        ...pick,
        blockers: fc.array(fc.nat({ max: 1000 }), { maxLength: 3 }),
        priority: fc.integer({ min: -2, max: 5 }),
        area: fc.constantFrom(null, "blog", "docs"),
        agent: fc.constantFrom(...AGENTS),
        tier: fc.constantFrom(null, "auto" as const, "quick" as const, "gate" as const),
      },
      { requiredKeys: ["kind", "flaw", "target", "prefer"] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), ...pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("dispatch" as const), ...pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("result" as const), ...pick, exitCode: fc.constantFrom(0, 0, 0, 1, 137) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("verdict" as const),
      ...pick,
      verdict: fc.constantFrom<Verdict>("approved", "sent_back", "sent_back", "discarded"),
      notes: fc.constantFrom(null, "tighten the intro", "  "),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("note" as const), ...pick, text: fc.constantFrom("checked by hand", "looks fine", "   ") }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("goal" as const),
      title: fc.constantFrom("Launch the blog", "Grow the list", "Ship v2", ""),
      success: fc.constantFrom(null, "10 posts live", "1,000 readers", "two\nlines"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("initiative" as const), goal: fc.nat({ max: 1000 }), success: fc.constantFrom(null, "MDX works") }),
  },
);

interface World {
  tasks: Map<number, { status: string; blockedBy: number[] }>;
  goals: Set<number>;
  initiatives: Map<number, number>;
}

async function readWorld(ctx: AppContext): Promise<World> {
  const [tasks, blockers, goals, initiatives] = await ctx.db.snapshot([
    "SELECT id, status FROM tasks",
    "SELECT task_id, blocker_id FROM task_blockers",
    "SELECT id FROM goals",
    "SELECT id, goal_id FROM initiatives",
  ]);
  const world: World = { tasks: new Map(), goals: new Set(), initiatives: new Map() };
  for (const r of tasks!.rows) world.tasks.set(Number(r.id), { status: String(r.status), blockedBy: [] });
  for (const r of blockers!.rows) world.tasks.get(Number(r.task_id))?.blockedBy.push(Number(r.blocker_id));
  for (const r of goals!.rows) world.goals.add(Number(r.id));
  for (const r of initiatives!.rows) world.initiatives.set(Number(r.id), Number(r.goal_id));
  return world;
}

/** An index to an id among 1..count+1, so one pick in count+1 names a task that does not exist. */
const idOf = (n: number, count: number) => 1 + (n % (count + 1));

const WANTED: Record<string, string[]> = {
  cancel: ["queued", "dispatched", "running", "review"],
  dispatch: ["queued"],
  result: ["dispatched", "running"],
  verdict: ["review"],
  edit: ["queued"],
  note: ["queued", "dispatched", "review", "approved", "failed"],
};

function targetOf(op: Pick & { kind: string }, world: World): number {
  if (op.prefer) {
    const fitting = [...world.tasks].filter(([, t]) => WANTED[op.kind]!.includes(t.status)).map(([id]) => id);
    if (fitting.length) return fitting[op.target % fitting.length]!;
  }
  return idOf(op.target, world.tasks.size);
}

function reaches(world: World, from: number, to: number): boolean {
  const seen = new Set<number>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(world.tasks.get(id)?.blockedBy ?? []));
  }
  return false;
}

const OPEN = ["queued", "dispatched", "running", "review"];

/** Runs one op; returns the command and whether DESIGN §3 says it must be accepted. */
function plan(op: Op, world: World, ctx: AppContext): { legal: boolean; run: () => Promise<unknown>; label: string } {
  const count = world.tasks.size;
  switch (op.kind) {
    case "queue": {
      const ids = [...world.tasks.keys()];
      const goals = [...world.goals];
      const initiatives = [...world.initiatives.keys()];
      const blockers = ids.length ? op.blockers.map((b) => ids[b % ids.length]!) : [];
      let goalId = op.goal === null || !goals.length ? null : goals[op.goal % goals.length]!;
      const initiativeId = op.initiative === null || !initiatives.length ? null : initiatives[op.initiative % initiatives.length]!;
      if (initiativeId !== null && goalId !== null && op.flaw !== "initiative of another goal") goalId = world.initiatives.get(initiativeId)!;
      const input = {
        title: op.flaw === "blank title" ? "   " : `Task ${count + 1}`,
        type: op.flaw === "code without a project" ? "code" : op.flaw === "unknown type" ? "poetry" : op.type,
        agent: op.flaw === "unknown agent" ? "ghost" : op.agent,
        blockedBy: op.flaw === "unknown blocker" ? [...blockers, count + 1 + (op.priority & 3)] : blockers,
        goalId: op.flaw === "unknown goal" ? goals.length + 1 : goalId,
        initiativeId,
        priority: op.priority,
        area: op.flaw === "bad area" ? BAD_AREA : op.area,
      };
      const owner = input.initiativeId === null ? null : world.initiatives.get(input.initiativeId);
      const legal =
        input.title.trim() !== "" &&
        ["research", "content"].includes(input.type) && // code needs a project, and none is configured
        AGENTS.includes(input.agent) &&
        input.area !== BAD_AREA &&
        input.blockedBy.every((b) => world.tasks.has(b)) &&
        (input.goalId === null || world.goals.has(input.goalId)) &&
        (input.initiativeId === null || input.goalId === null || input.goalId === owner);
      return { legal, label: `queue ${JSON.stringify(input)}`, run: () => queueTask(ctx, input, "cli") };
    }
    case "edit": {
      const id = targetOf(op, world);
      const task = world.tasks.get(id);
      const ids = [...world.tasks.keys()];
      const changes: TaskEdit = {};
      if (op.blockers) changes.blockedBy = ids.length ? op.blockers.map((b) => ids[b % ids.length]!).filter((b) => b !== id) : [];
      if (op.priority !== undefined) changes.priority = op.priority;
      if (op.area !== undefined) changes.area = op.area;
      if (op.agent !== undefined) changes.agent = op.agent;
      if (op.tier !== undefined) changes.tier = op.tier;
      if (op.flaw === "self") changes.blockedBy = [...(changes.blockedBy ?? []), id];
      if (op.flaw === "unknown blocker") changes.blockedBy = [...(changes.blockedBy ?? []), count + 2];
      if (op.flaw === "unknown agent") changes.agent = "ghost";
      if (op.flaw === "bad area") changes.area = BAD_AREA;
      if (Object.keys(changes).length === 0) changes.priority = 1;
      const queuedOnly = ["blockedBy", "area", "agent", "tier"].some((k) => k in changes);
      const legal =
        task !== undefined &&
        OPEN.includes(task.status) &&
        (!queuedOnly || task.status === "queued") &&
        changes.area !== BAD_AREA &&
        (changes.agent === undefined || AGENTS.includes(changes.agent)) &&
        (changes.blockedBy === undefined ||
          changes.blockedBy.every((b) => b !== id && world.tasks.has(b) && !reaches(world, b, id)));
      return { legal, label: `edit #${id} ${JSON.stringify(changes)}`, run: () => editTask(ctx, id, changes, "cli") };
    }
    case "cancel": {
      const id = targetOf(op, world);
      const legal = OPEN.includes(world.tasks.get(id)?.status ?? "none");
      return { legal, label: `cancel #${id}`, run: () => cancelTask(ctx, id, null, "cli") };
    }
    case "dispatch": {
      const id = targetOf(op, world);
      return { legal: world.tasks.get(id)?.status === "queued", label: `dispatch #${id}`, run: () => dispatch(ctx, id) };
    }
    case "result": {
      const id = targetOf(op, world);
      const legal = ["dispatched", "running"].includes(world.tasks.get(id)?.status ?? "none");
      const markdown = `## Summary\nDid #${id}.\n\n## Handoff\nUse it.\n`;
      return { legal, label: `result #${id} exit ${op.exitCode}`, run: () => recordResult(ctx, id, { markdown, exitCode: op.exitCode }, "agent:builder") };
    }
    case "verdict": {
      const id = targetOf(op, world);
      const legal = world.tasks.get(id)?.status === "review";
      return { legal, label: `verdict #${id} ${op.verdict}`, run: () => recordVerdict(ctx, id, op.verdict, op.notes, "user:telegram:1") };
    }
    case "note": {
      const id = targetOf(op, world);
      const legal = world.tasks.has(id) && op.text.trim() !== "";
      return { legal, label: `note #${id} ${JSON.stringify(op.text)}`, run: () => noteActivity(ctx, id, op.text, "cli") };
    }
    case "goal": {
      const legal = op.title.trim() !== "" && !(op.success ?? "").includes("\n");
      return { legal, label: `goal ${JSON.stringify(op)}`, run: () => createGoal(ctx, { title: op.title, success: op.success }, "cli") };
    }
    case "initiative": {
      // One goal id in five or so does not exist.
      const goalId = 1 + (op.goal % (world.goals.size + Math.ceil(world.goals.size / 4) + 1));
      return {
        legal: world.goals.has(goalId),
        label: `initiative of goal ${goalId}`,
        run: () => createInitiative(ctx, { title: "An initiative", goalId, success: op.success }, "cli"),
      };
    }
  }
}

async function eventCount(ctx: AppContext): Promise<number> {
  const rows = await ctx.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM events");
  return Number(rows[0]!.n);
}

async function runSequence(ctx: AppContext, clock: MovableClock, ops: Op[]) {
  let legal = 0;
  let illegal = 0;
  const statuses = new Set<string>();
  for (const [i, op] of ops.entries()) {
    clock.advance(1 + ((i * 7919) % 3_600_000));
    const world = await readWorld(ctx);
    for (const t of world.tasks.values()) statuses.add(t.status);
    const step = plan(op, world, ctx);
    const where = `op ${i}: ${step.label}`;
    // A refusal must leave every table as it was; an accepted command must append.
    const before = step.legal ? null : await dumpStore(ctx.db);
    const eventsBefore = await eventCount(ctx);
    let error: unknown = null;
    try {
      await step.run();
    } catch (e) {
      error = e;
    }
    if (step.legal) {
      expect(error, where).toBeNull();
      legal++;
      expect(await eventCount(ctx), where).toBeGreaterThanOrEqual(eventsBefore + (op.kind === "edit" ? 0 : 1));
    } else {
      expect(error, where).toBeInstanceOf(CosError);
      expect(["validation", "not_found", "illegal_state"], `${where}: ${(error as Error).message}`).toContain((error as CosError).code);
      expect(await dumpStore(ctx.db), where).toEqual(before);
      illegal++;
    }
    if ((i + 1) % 100 === 0) {
      const { live, rebuilt, rebuiltInWorker } = await liveAndRebuilt(ctx.db);
      expect(live, `rebuild after op ${i}`).toEqual(rebuilt);
      expect(live, `rebuild after op ${i}`).toEqual(rebuiltInWorker);
    }
  }
  return { legal, illegal, statuses };
}

describe("projections replayed from the log", () => {
  const keep = closeAfterEach();

  it("equal the live tables after hundreds of random commands, legal and illegal", async () => {
    const totals = { legal: 0, illegal: 0, events: 0, statuses: new Set<string>() };
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 250, maxLength: 300 }), async (ops) => {
        const app = await tempApp();
        try {
          const counts = await runSequence(app.ctx, app.clock, ops);
          const log = await readLog(app.ctx.db);
          expect(logShapeProblems(log)).toEqual([]);
          const { live, rebuilt, rebuiltInWorker } = await liveAndRebuilt(app.ctx.db);
          expect(live).toEqual(rebuilt);
          expect(live).toEqual(rebuiltInWorker);
          totals.legal += counts.legal;
          totals.illegal += counts.illegal;
          totals.events += log.length;
          for (const status of counts.statuses) totals.statuses.add(status);
        } finally {
          await app.close();
        }
      }),
      { seed: 20261123, numRuns: 3, endOnFailure: true },
    );
    // The sequences passed through every status and mixed accepted with refused commands.
    expect([...totals.statuses].sort()).toEqual(
      ["approved", "cancelled", "discarded", "dispatched", "failed", "queued", "review"],
    );
    expect(totals.legal).toBeGreaterThan(300);
    expect(totals.illegal).toBeGreaterThan(100);
    console.log(`rebuild property: ${totals.legal} accepted, ${totals.illegal} refused, ${totals.events} events`);
  });

  it("leaves the store file byte-identical when a command is refused", async () => {
    const app = keep(await tempApp());
    const { ctx, ws } = app;
    const a = await queueTask(ctx, { title: "A", type: "research", agent: "builder" }, "cli");
    const b = await queueTask(ctx, { title: "B", type: "content", agent: "writer", blockedBy: [a] }, "cli");
    await dispatch(ctx, a);
    const files = [`${ws.dir}/cos.db`, `${ws.dir}/cos.db-wal`].filter((f) => existsSync(f));
    const hash = () => files.map((f) => createHash("sha256").update(readFileSync(f)).digest("hex"));
    const before = { dump: await dumpStore(ctx.db), files: hash() };

    const refused: [string, () => Promise<unknown>][] = [
      ["a verdict on a dispatched task", () => recordVerdict(ctx, a, "approved", null, "cli")],
      ["a result for a never-dispatched task", () => recordResult(ctx, b, { markdown: "x", exitCode: 0 }, "cli")],
      ["a second dispatch", () => dispatch(ctx, a)],
      ["a cycle", () => editTask(ctx, a, { blockedBy: [b] }, "cli")],
      ["a self-dependency", () => editTask(ctx, b, { blockedBy: [b] }, "cli")],
      ["an unknown blocker", () => queueTask(ctx, { title: "C", type: "research", agent: "builder", blockedBy: [99] }, "cli")],
      ["an unknown task", () => cancelTask(ctx, 99, null, "cli")],
      ["an unknown goal", () => createInitiative(ctx, { title: "I", goalId: 7 }, "cli")],
      ["a blank note", () => noteActivity(ctx, a, "  ", "cli")],
      ["an edit of the agent while dispatched", () => editTask(ctx, a, { agent: "writer" }, "cli")],
    ];
    for (const [name, command] of refused) {
      await expect(command(), name).rejects.toBeInstanceOf(CosError);
      expect(await dumpStore(ctx.db), name).toEqual(before.dump);
      expect(hash(), name).toEqual(before.files);
    }
  });
});
