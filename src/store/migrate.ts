import { readMigrationFiles } from "drizzle-orm/migrator";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../shared/paths.ts";
import type { Database } from "./db.ts";

const TABLE = "__drizzle_migrations";

/**
 * Applies the drizzle-kit migrations in `migrations/` that the store lacks, in one write transaction
 * that re-checks what is applied, so processes starting together apply each migration once. Uses
 * drizzle's own bookkeeping table, so drizzle-kit's tools agree about what is applied.
 */
export async function migrate(db: Database, folder = join(packageRoot(), "migrations")): Promise<number> {
  // Every command starts here: compare with the journal alone, and read the SQL only when behind.
  const latest = journalOf(folder).at(-1) ?? 0;
  if ((await lastApplied(db)) >= latest) return 0;
  const migrations = readMigrationFiles({ migrationsFolder: folder });
  return db.write(async (tx) => {
    await tx.execute(`CREATE TABLE IF NOT EXISTS ${TABLE} (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, created_at NUMERIC)`);
    const row = (await tx.execute(`SELECT MAX(created_at) AS last FROM ${TABLE}`)).rows[0];
    const last = Number(row?.last ?? 0);
    let applied = 0;
    for (const migration of migrations) {
      if (migration.folderMillis <= last) continue;
      for (const statement of migration.sql) {
        if (statement.trim()) await tx.execute(statement);
      }
      await tx.execute({
        sql: `INSERT INTO ${TABLE} (hash, created_at) VALUES (?, ?)`,
        args: [migration.hash, migration.folderMillis],
      });
      applied++;
    }
    return applied;
  });
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
  } catch {
    return 0; // no bookkeeping table yet: a fresh store
  }
}
