import { readMigrationFiles } from "drizzle-orm/migrator";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { InStatement } from "@libsql/client";
import { packageRoot } from "../shared/paths.ts";
import type { Database } from "./db.ts";

const TABLE = "__drizzle_migrations";

/**
 * Applies the drizzle-kit migrations in `migrations/` that the store lacks, in one batch (one
 * transaction; one request to a remote store). Two processes starting together on a fresh store
 * both try: the second batch fails on a table the first made, and finds on a second look that the
 * schema is up to date. Uses drizzle's own bookkeeping table, so drizzle-kit's tools agree about what
 * is applied.
 */
export async function migrate(db: Database, folder = join(packageRoot(), "migrations")): Promise<number> {
  // Every command starts here: compare with the journal alone, and read the SQL only when behind.
  const latest = journalOf(folder).at(-1) ?? 0;
  const last = await lastApplied(db);
  if (last >= latest) return 0;
  const statements: InStatement[] = [`CREATE TABLE IF NOT EXISTS ${TABLE} (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, created_at NUMERIC)`];
  let applied = 0;
  for (const migration of readMigrationFiles({ migrationsFolder: folder })) {
    if (migration.folderMillis <= last) continue;
    for (const statement of migration.sql) if (statement.trim()) statements.push(statement);
    statements.push({ sql: `INSERT INTO ${TABLE} (hash, created_at) VALUES (?, ?)`, args: [migration.hash, migration.folderMillis] });
    applied++;
  }
  try {
    await db.batch(statements);
    return applied;
  } catch (error) {
    // Another process applied them first: nothing is left to do.
    if ((await lastApplied(db)) >= latest) return 0;
    throw error;
  }
}

/** How the store's schema compares with this version's migrations, without changing anything. */
export async function schemaStatus(db: Database, folder = join(packageRoot(), "migrations")): Promise<{ known: number; pending: number; unknown: number }> {
  const journal = journalOf(folder);
  const last = await lastApplied(db);
  const applied = await db.query<{ created_at: number }>(`SELECT created_at FROM ${TABLE}`).catch(() => []);
  const knownSet = new Set(journal);
  return {
    known: journal.length,
    pending: journal.filter((when) => when > last).length,
    // Applied by a newer version of cos: this one does not know the schema it finds.
    unknown: applied.filter((row) => !knownSet.has(Number(row.created_at))).length,
  };
}

/** The `when` of each migration in the journal, in order. */
function journalOf(folder: string): number[] {
  const journal = JSON.parse(readFileSync(join(folder, "meta", "_journal.json"), "utf8")) as { entries: { when: number }[] };
  return journal.entries.map((e) => e.when);
}

async function lastApplied(db: Database): Promise<number> {
  try {
    const rows = await db.query<{ last: number | null }>(`SELECT MAX(created_at) AS last FROM ${TABLE}`);
    return Number(rows[0]?.last ?? 0);
  } catch (error) {
    // No bookkeeping table yet: a fresh store. Anything else (an unreachable store) is for the caller.
    if (/no such table/i.test((error as Error).message ?? "")) return 0;
    throw error;
  }
}
