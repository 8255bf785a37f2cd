import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { ConflictError, MisconfiguredError, ValidationError } from "../shared/errors.ts";
import { checkStore, type CheckReport } from "./check.ts";
import { Database } from "./db.ts";
import { migrate } from "./migrate.ts";
import { rebuildProjections, type RebuildReport } from "./rebuild.ts";

// `cos backup FILE` and `cos restore FILE`. A backup is always an SQLite file holding a cos store:
// from an embedded store, a consistent copy of the whole file (VACUUM INTO, safe while `cos serve`
// writes); from a remote store, the event log exported page by page (with the operational tables:
// outbox, leases, runners, chat bookkeeping), into a file with the full schema. A restore copies the
// log (and those tables) into an empty store, rebuilds the projections from the log, and checks the
// result.

/** Tables that are not derived from the log but worth keeping: what is in flight or was delivered. */
const OPERATIONAL = ["outbox", "chat_messages", "chat_prompts", "chat_updates", "leases", "runners", "run_tokens"];
/** Rows per request when copying. */
const PAGE = 2_000;

export interface BackupReport {
  file: string;
  /** "copy": the whole embedded file; "export": a remote store's log and operational tables. */
  kind: "copy" | "export";
  events: number;
  /** The last position in the backup. */
  head: number;
  bytes: number;
}

export async function backupStore(db: Database, file: string, cwd: string): Promise<BackupReport> {
  const path = resolve(cwd, file);
  if (existsSync(path)) throw new ValidationError(`${path} exists already: give a new file name (a backup never overwrites one)`);
  if (db.embedded) {
    // One read transaction: the copy is the store as of one instant, whatever is written meanwhile.
    await db.execute({ sql: "VACUUM INTO ?", args: [path] });
    const copy = await Database.open({ url: `file:${path}` });
    try {
      const { events, head } = await logSize(copy);
      return { file: path, kind: "copy", events, head, bytes: statSync(path).size };
    } finally {
      await copy.close();
    }
  }
  const target = await Database.open({ url: `file:${path}` });
  try {
    await migrate(target);
    // The log is append-only: everything up to the head read now is the log as of now, page by page.
    const { head } = await logSize(db);
    const events = await copyTable(db, target, "events", head);
    for (const table of OPERATIONAL) await copyTable(db, target, table, null);
    return { file: path, kind: "export", events, head, bytes: statSync(path).size };
  } finally {
    await target.close();
  }
}

export interface RestoreReport {
  file: string;
  events: number;
  /** Events that were already there from an earlier restore of the same backup that stopped. */
  resumedAt: number;
  rebuild: RebuildReport;
  check: CheckReport;
}

/**
 * Copies a backup into this store, which must be empty (or hold the beginning of the same backup, left
 * by a restore that stopped: it goes on from there), then rebuilds the projections and checks the
 * store. The positions, ids and versions of the events are kept.
 */
export async function restoreStore(db: Database, file: string, cwd: string): Promise<RestoreReport> {
  const path = resolve(cwd, file);
  if (!existsSync(path)) throw new ValidationError(`there is no backup at ${path}`);
  const source = await Database.open({ url: `file:${path}` });
  try {
    await requireBackup(source, path, db);
    const from = await logSize(source);
    const here = await logSize(db);
    let resumedAt = 0;
    if (here.events > 0) {
      // The store is not empty: go on only if what it holds is the start of this very backup.
      const [mine, theirs] = await Promise.all([lastEvent(db, here.head), lastEvent(source, here.head)]);
      if (!mine || !theirs || mine !== theirs || here.events !== here.head) {
        throw new ValidationError(
          `the store at COS_DB_URL=${db.displayUrl} already holds ${here.events} events: restore into an empty store ` +
            "(point COS_DB_URL at a new file or database, then run cos restore again)",
        );
      }
      resumedAt = here.head;
    }
    await copyTable(source, db, "events", from.head, resumedAt);
    if (resumedAt === 0) for (const table of OPERATIONAL) await copyTable(source, db, table, null);
    const rebuild = await rebuildProjections(db);
    const check = await checkStore(db);
    const restored = await logSize(db);
    if (restored.events !== from.events || restored.head !== from.head) {
      throw new ConflictError(`the restored log has ${restored.events} events up to position ${restored.head}, the backup ${from.events} up to ${from.head}`);
    }
    return { file: path, events: restored.events, resumedAt, rebuild, check };
  } finally {
    await source.close();
  }
}

async function requireBackup(source: Database, path: string, target: Database): Promise<void> {
  const tables = await source.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('events', '__drizzle_migrations')");
  if (tables.length < 2) throw new ValidationError(`${path} is not a cos backup (it has no event log)`);
  const [theirs, mine] = await Promise.all([
    source.query<{ last: number }>("SELECT MAX(created_at) AS last FROM __drizzle_migrations"),
    target.query<{ last: number }>("SELECT MAX(created_at) AS last FROM __drizzle_migrations"),
  ]);
  if (Number(theirs[0]?.last ?? 0) > Number(mine[0]?.last ?? 0)) {
    throw new MisconfiguredError(`${path} was made by a newer cos (its schema has migrations this one lacks): restore it with that version`);
  }
}

async function logSize(db: Database): Promise<{ events: number; head: number }> {
  const row = (await db.query<{ events: number; head: number }>("SELECT COUNT(*) AS events, COALESCE(MAX(position), 0) AS head FROM events"))[0];
  return { events: Number(row?.events ?? 0), head: Number(row?.head ?? 0) };
}

async function lastEvent(db: Database, position: number): Promise<string | null> {
  const row = (await db.query<{ event_id: string }>("SELECT event_id FROM events WHERE position = ?", [position]))[0];
  return row ? String(row.event_id) : null;
}

/**
 * Copies a table's rows in pages by rowid (the columns both sides have), each page one read and one
 * write: `upTo` bounds the rowids (the log's head), `after` skips rows already copied. A table missing
 * on either side is skipped. Returns the rows copied.
 */
async function copyTable(from: Database, to: Database, table: string, upTo: number | null, after = 0): Promise<number> {
  const [source, target] = await Promise.all([columnsOf(from, table), columnsOf(to, table)]);
  const columns = source.filter((c) => target.includes(c));
  if (!columns.length) return 0;
  const list = columns.map((c) => `"${c}"`).join(", ");
  let copied = 0;
  let cursor = after;
  for (;;) {
    const [page] = await from.snapshot([
      {
        sql: `SELECT json_group_array(json_array(rowid, ${list})) AS rows, COUNT(*) AS n FROM
                (SELECT rowid, ${list} FROM "${table}" WHERE rowid > ? ${upTo === null ? "" : "AND rowid <= ?"} ORDER BY rowid LIMIT ${PAGE})`,
        args: upTo === null ? [cursor] : [cursor, upTo],
      },
    ]);
    const n = Number(page!.rows[0]?.n ?? 0);
    if (!n) return copied;
    const rows = String(page!.rows[0]!.rows);
    await to.batch([
      {
        sql: `INSERT INTO "${table}" (${list}) SELECT ${columns.map((_, i) => `value->>${i + 1}`).join(", ")} FROM json_each(?)`,
        args: [rows],
      },
    ]);
    copied += n;
    const last = JSON.parse(rows) as unknown[][];
    cursor = Number(last.at(-1)![0]);
    if (n < PAGE) return copied;
  }
}

async function columnsOf(db: Database, table: string): Promise<string[]> {
  const rows = await db.query<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`);
  return rows.map((r) => String(r.name));
}
