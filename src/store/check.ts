import { ConflictError } from "../shared/errors.ts";
import type { Database } from "./db.ts";
import { PROJECTION_TABLES } from "./projections.ts";
import { sqliteFeatures } from "./fold.ts";
import { catchUpShadows, createShadows, dropShadows, fillShadows } from "./shadow.ts";

// `cos check`: is the store whole? The log's shape (each stream's versions 1..n with no gap, in the
// order of their positions, every event's data and meta JSON) and the projections (equal, row for
// row, to what a rebuild would write). Each problem comes with what to do about it.

export interface CheckProblem {
  kind: "versions" | "order" | "json" | "projection";
  detail: string;
  /** What a person can do about it. */
  fix: string;
}

export interface CheckReport {
  ok: boolean;
  events: number;
  streams: number;
  /** Rows compared, over all projection tables. */
  rows: number;
  problems: CheckProblem[];
}

const SHOWN = 5;
const COMPARE_TRIES = 10;
const DAMAGED_LOG =
  "the log itself is damaged, which a rebuild cannot mend: restore the last good backup into an empty store (cos restore FILE), " +
  "or repair the named events with an SQLite shell";

export async function checkStore(db: Database): Promise<CheckReport> {
  const [counts, versions, order, json] = await db.snapshot([
    "SELECT COUNT(*) AS events, COUNT(DISTINCT stream) AS streams FROM events",
    `SELECT stream, COUNT(*) AS n, MIN(version) AS lo, MAX(version) AS hi FROM events GROUP BY stream
     HAVING lo <> 1 OR hi <> n ORDER BY stream LIMIT ${SHOWN + 1}`,
    `SELECT stream, version, position, previous FROM
       (SELECT stream, version, position, LAG(position) OVER (PARTITION BY stream ORDER BY version) AS previous FROM events)
     WHERE previous > position ORDER BY stream, version LIMIT ${SHOWN + 1}`,
    `SELECT position, stream, version FROM events WHERE NOT json_valid(data) OR NOT json_valid(meta) ORDER BY position LIMIT ${SHOWN + 1}`,
  ]);
  const problems: CheckProblem[] = [];
  const more = (rows: unknown[]) => (rows.length > SHOWN ? " (and more)" : "");
  if (versions!.rows.length) {
    const list = versions!.rows.slice(0, SHOWN).map((r) => `${r.stream} has ${r.n} events with versions ${r.lo}..${r.hi}`);
    problems.push({ kind: "versions", detail: `versions with gaps: ${list.join("; ")}${more(versions!.rows)}`, fix: DAMAGED_LOG });
  }
  if (order!.rows.length) {
    const list = order!.rows.slice(0, SHOWN).map((r) => `${r.stream} version ${r.version} is at position ${r.position}, before its previous version (${r.previous})`);
    problems.push({ kind: "order", detail: `events out of order: ${list.join("; ")}${more(order!.rows)}`, fix: DAMAGED_LOG });
  }
  if (json!.rows.length) {
    const list = json!.rows.slice(0, SHOWN).map((r) => `event ${r.position} (${r.stream} version ${r.version})`);
    problems.push({ kind: "json", detail: `data or meta that is not JSON: ${list.join("; ")}${more(json!.rows)}`, fix: DAMAGED_LOG });
  }
  // A log that does not parse cannot be folded; the projections are compared only with a readable log.
  const rows = json!.rows.length ? 0 : await compareProjections(db, problems);
  return {
    ok: problems.length === 0,
    events: Number(counts!.rows[0]?.events ?? 0),
    streams: Number(counts!.rows[0]?.streams ?? 0),
    rows,
    problems,
  };
}

/**
 * Builds what a rebuild would write into shadow tables beside the live ones (in pages, so it is safe
 * against a remote store and while others write), then compares the two table by table in one
 * snapshot taken while the log still ends where the shadows do.
 */
async function compareProjections(db: Database, problems: CheckProblem[]): Promise<number> {
  const { jsonb } = await sqliteFeatures(db);
  const set = await createShadows(db, "__check");
  try {
    let head = Number((await db.query<{ head: number }>("SELECT COALESCE(MAX(position), 0) AS head FROM events"))[0]?.head ?? 0);
    await fillShadows(db, set, head, { jsonb });
    const columns = new Map<string, string[]>();
    for (const table of PROJECTION_TABLES) {
      const info = await db.query<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`);
      const virtual = (await db.query(`SELECT 1 FROM sqlite_master WHERE name = ? AND sql LIKE 'CREATE VIRTUAL TABLE%'`, [table])).length > 0;
      columns.set(table, [...(virtual ? ["rowid"] : []), ...info.map((c) => `"${c.name}"`)]);
    }
    for (let attempt = 0; attempt < COMPARE_TRIES; attempt++) {
      head = (await catchUpShadows(db, set, head, jsonb)).head;
      const statements = ["SELECT COALESCE(MAX(position), 0) AS head FROM events"];
      for (const t of set.tables) {
        const cols = columns.get(t.name)!.join(", ");
        statements.push(
          `SELECT COUNT(*) AS n FROM ${t.name}`,
          `SELECT json_group_array(json_array(${cols})) AS rows, COUNT(*) AS n FROM (SELECT ${cols} FROM ${t.name} EXCEPT SELECT ${cols} FROM "${t.shadow}" LIMIT ${SHOWN + 1})`,
          `SELECT COUNT(*) AS n FROM (SELECT ${cols} FROM "${t.shadow}" EXCEPT SELECT ${cols} FROM ${t.name})`,
          `SELECT COUNT(*) AS n FROM (SELECT ${cols} FROM ${t.name} EXCEPT SELECT ${cols} FROM "${t.shadow}")`,
        );
      }
      const results = await db.snapshot(statements);
      if (Number(results[0]!.rows[0]?.head ?? 0) !== head) continue; // appended meanwhile: catch up and compare again
      let rows = 0;
      set.tables.forEach((t, i) => {
        const [count, sample, missing, extra] = results.slice(1 + i * 4, 5 + i * 4);
        rows += Number(count!.rows[0]?.n ?? 0);
        const wrong = Number(extra!.rows[0]?.n ?? 0);
        const absent = Number(missing!.rows[0]?.n ?? 0);
        if (!wrong && !absent) return;
        const example = JSON.parse(String(sample!.rows[0]?.rows ?? "[]")) as unknown[][];
        problems.push({
          kind: "projection",
          detail:
            `${t.name}: ${wrong} row${wrong === 1 ? "" : "s"} that a rebuild would not write, ${absent} it would write that are not there` +
            (example.length ? ` (e.g. ${JSON.stringify(example[0]).slice(0, 200)})` : ""),
          fix: "the projections drifted from the log: run cos rebuild, which writes them again from the log",
        });
      });
      return rows;
    }
    throw new ConflictError(`the log kept growing while cos check compared the projections (${COMPARE_TRIES} tries); run it again`);
  } finally {
    await dropShadows(db, set).catch(() => undefined);
  }
}
