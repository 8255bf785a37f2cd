import type { InStatement, InValue } from "@libsql/client";
import { ConflictError } from "../shared/errors.ts";
import type { Database } from "./db.ts";
import { guardStatement, logAt } from "./guards.ts";
import { PROJECTION_TABLES, projectionFor, type AggregateProjection } from "./projections.ts";
import { foldRange, insertStatement, type Folded, type RowBatch } from "./fold.ts";

// Projection tables built beside the live ones, page by page, from the log: what `cos rebuild` swaps
// in on a remote store (no transaction is held across round trips, and none is long), and what
// `cos check` compares the live tables with.

/** A live projection table and its shadow. */
interface Shadowed {
  name: string;
  shadow: string;
  /** The live table's indexes, to make again on the shadow once it has the live table's name. */
  indexes: string[];
}

export interface ShadowSet {
  tables: Shadowed[];
}

export interface PagedSizes {
  pageSize?: number | undefined;
  batchRows?: number | undefined;
  jsonb: boolean;
}

/** Smaller than an embedded rebuild's: each page and each write is one request, and stays quick. */
const PAGE_SIZE = 2_000;
const BATCH_ROWS = 1_000;
/** Streams refolded per request when the log moved during the build. */
const CATCH_UP_STREAMS = 200;
const SWAP_TRIES = 20;

/** `CREATE [VIRTUAL] TABLE <name>` → the same with another name. */
function renamed(ddl: string, name: string): string {
  const out = ddl.replace(/^(\s*CREATE\s+(?:VIRTUAL\s+)?TABLE\s+)("[^"]+"|`[^`]+`|\[[^\]]+\]|\w+)/i, `$1"${name}"`);
  if (out === ddl) throw new Error(`cannot read the definition of a projection table: ${ddl.slice(0, 80)}`);
  return out;
}

/** Empty shadows of every projection table (`tasks` → `tasks__rebuild`), made anew. */
export async function createShadows(db: Database, suffix: string): Promise<ShadowSet> {
  const rows = await db.query<{ type: string; name: string; tbl_name: string; sql: string | null }>(
    `SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN (SELECT value FROM json_each(?)) AND sql IS NOT NULL`,
    [JSON.stringify(PROJECTION_TABLES)],
  );
  const tables: Shadowed[] = [];
  const statements: InStatement[] = [];
  for (const name of PROJECTION_TABLES) {
    const ddl = rows.find((r) => r.type === "table" && r.name === name)?.sql;
    if (!ddl) throw new Error(`the store has no table ${name}: is its schema up to date?`);
    const shadow = `${name}${suffix}`;
    tables.push({ name, shadow, indexes: rows.filter((r) => r.type === "index" && r.tbl_name === name).map((r) => r.sql!) });
    statements.push(`DROP TABLE IF EXISTS "${shadow}"`, renamed(ddl, shadow));
  }
  await db.batch(statements);
  return { tables };
}

export async function dropShadows(db: Database, set: ShadowSet): Promise<void> {
  await db.batch(set.tables.map((t) => `DROP TABLE IF EXISTS "${t.shadow}"`));
}

function shadowOf(set: ShadowSet, table: string): string {
  return set.tables.find((t) => t.name === table)!.shadow;
}

/** Folds the log up to `upTo` into the shadows: one read and one write per page. */
export async function fillShadows(db: Database, set: ShadowSet, upTo: number, sizes: PagedSizes): Promise<Folded> {
  const batches: RowBatch[] = [];
  const drain = async () => {
    if (!batches.length) return;
    await db.batch(batches.splice(0).map((b) => insertStatement(b, shadowOf(set, b.table), sizes.jsonb)));
  };
  const folded = await foldRange(
    db,
    { from: "", to: null, upTo },
    { pageSize: sizes.pageSize ?? PAGE_SIZE, batchRows: sizes.batchRows ?? BATCH_ROWS },
    (batch) => batches.push(batch),
    drain,
  );
  await drain();
  return folded;
}

/**
 * Brings the shadows up to the log's end: every stream with events after `from` is folded again
 * whole and its rows replaced. Returns the position now covered and how many events and new
 * projected streams that added.
 */
export async function catchUpShadows(db: Database, set: ShadowSet, from: number, jsonb: boolean): Promise<{ head: number; events: number; streams: number }> {
  const [head, touched] = await db.snapshot([
    "SELECT COALESCE(MAX(position), 0) AS head FROM events",
    { sql: "SELECT stream, MIN(position) AS first, SUM(position > ?) AS fresh FROM events WHERE stream IN (SELECT DISTINCT stream FROM events WHERE position > ?) GROUP BY stream", args: [from, from] },
  ]);
  const to = Number(head!.rows[0]?.head ?? 0);
  let events = 0;
  let streams = 0;
  const touchedStreams = touched!.rows.filter((r) => projectionFor(String(r.stream)));
  for (const r of touched!.rows) events += Number(r.fresh);
  for (let i = 0; i < touchedStreams.length; i += CATCH_UP_STREAMS) {
    const chunk = touchedStreams.slice(i, i + CATCH_UP_STREAMS).map((r) => String(r.stream));
    const results = await db.snapshot(
      chunk.map((stream) => ({
        sql: "SELECT position, type, data, json_extract(meta, '$.at') AS at FROM events WHERE stream = ? AND position <= ? ORDER BY version",
        args: [stream, to],
      })),
    );
    const statements: InStatement[] = [];
    chunk.forEach((stream, k) => {
      const projection = projectionFor(stream)! as AggregateProjection;
      let state: unknown = null;
      for (const e of results[k]!.rows) {
        state = projection.evolve(state, { type: String(e.type), data: JSON.parse(String(e.data)), at: String(e.at), position: Number(e.position) });
      }
      if (state === null) return;
      const key = projection.key(state, stream);
      const rows = projection.rows(state, stream);
      for (const table of projection.tables) {
        statements.push({ sql: `DELETE FROM "${shadowOf(set, table.name)}" WHERE ${table.key} = ?`, args: [key] });
        const fresh: InValue[][] = rows[table.name] ?? [];
        if (fresh.length) statements.push(insertStatement({ table: table.name, json: JSON.stringify(fresh) }, `"${shadowOf(set, table.name)}"`, jsonb));
      }
    });
    if (statements.length) await db.batch(statements);
  }
  for (const r of touchedStreams) if (Number(r.first) > from) streams++;
  return { head: to, events, streams };
}

/**
 * Puts the shadows in the live tables' place, with the live tables' indexes, in one batch that holds
 * only if the log still ends at `head`: readers see the old tables or the new ones, never a mix,
 * and no append slips between the last catch-up and the swap. False when the log moved.
 */
async function swapShadows(db: Database, set: ShadowSet, head: number): Promise<boolean> {
  const statements: InStatement[] = [guardStatement(logAt(head))];
  for (const t of set.tables) {
    statements.push(`DROP TABLE "${t.name}"`, `ALTER TABLE "${t.shadow}" RENAME TO "${t.name}"`, ...t.indexes);
  }
  try {
    await db.batch(statements);
    return true;
  } catch (error) {
    if ((error as { statementIndex?: number }).statementIndex === 0) return false;
    throw error;
  }
}

/**
 * `cos rebuild` on a remote store: the log read in pages as it was when the rebuild began, folded into
 * shadow tables, brought up to date with whatever was appended meanwhile, and swapped in by one
 * guarded batch. All or nothing: a failure leaves the live tables as they were.
 */
export async function rebuildInPages(db: Database, sizes: PagedSizes): Promise<Folded> {
  const set = await createShadows(db, "__rebuild");
  try {
    const start = Number((await db.query<{ head: number }>("SELECT COALESCE(MAX(position), 0) AS head FROM events"))[0]?.head ?? 0);
    const folded = await fillShadows(db, set, start, sizes);
    let head = start;
    for (let attempt = 0; attempt < SWAP_TRIES; attempt++) {
      const caught = await catchUpShadows(db, set, head, sizes.jsonb);
      folded.events += caught.events;
      folded.streams += caught.streams;
      head = caught.head;
      if (await swapShadows(db, set, head)) return folded;
    }
    throw new ConflictError(`the log kept growing while the rebuild tried to swap its tables in (${SWAP_TRIES} tries); run cos rebuild again`);
  } catch (error) {
    await dropShadows(db, set).catch(() => undefined);
    throw error;
  }
}
