import type { InStatement, InValue } from "@libsql/client";
import type { AggregateProjection, TableSpec } from "./projections.ts";

/**
 * The statements that bring one aggregate's projection rows from `before` to `after` (null before:
 * a new aggregate). Table by table: an unchanged table is left alone, one that only grew gets the new
 * rows inserted, and anything else is rewritten. The result is the same rows `rebuild` writes, with
 * a fraction of the statements (most appends touch one row and add one).
 *
 * `placeholder` names the pending event whose position a value stands for, in a table's
 * `positionColumn` (the event is in the same batch, its position not known yet): such a value is
 * written as a lookup of that event's position.
 */
export function projectionStatements<S>(
  projection: AggregateProjection<S>,
  before: S | null,
  after: S,
  placeholder: (value: InValue) => string | null,
): InStatement[] {
  const statements: InStatement[] = [];
  const key = projection.key(after);
  const oldRows = before === null ? null : projection.rows(before);
  const newRows = projection.rows(after);
  for (const table of projection.tables) {
    const next = newRows[table.name] ?? [];
    const prev = oldRows?.[table.name] ?? [];
    const grewOnly = oldRows !== null && prev.length <= next.length && prev.every((row, j) => sameRow(row, next[j]));
    if (grewOnly && prev.length === next.length) continue;
    if (table.singleRow && next.length === 1) {
      // A table with one row per aggregate, keyed by it: replace in one statement.
      statements.push(...insertRows(table, next, placeholder, "INSERT OR REPLACE"));
      continue;
    }
    const fresh = grewOnly ? next.slice(prev.length) : next;
    if (!grewOnly && oldRows !== null) statements.push({ sql: `DELETE FROM ${table.name} WHERE ${table.key} = ?`, args: [key] });
    statements.push(...insertRows(table, fresh, placeholder));
  }
  return statements;
}

function sameRow(a: InValue[], b: InValue[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((v, j) => v === b[j]);
}

function insertRows(table: TableSpec, rows: InValue[][], placeholder: (value: InValue) => string | null, verb = "INSERT"): InStatement[] {
  if (!rows.length) return [];
  const statements: InStatement[] = [];
  const plain = `(${table.columns.map(() => "?").join(",")})`;
  const positionAt = table.positionColumn ? table.columns.indexOf(table.positionColumn) : -1;
  const perStatement = Math.max(1, Math.floor(30_000 / table.columns.length));
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const tuples: string[] = [];
    const args: InValue[] = [];
    for (const row of chunk) {
      const eventId = positionAt >= 0 ? placeholder(row[positionAt]!) : null;
      if (eventId === null) {
        tuples.push(plain);
        args.push(...row);
        continue;
      }
      tuples.push(`(${table.columns.map((_, i) => (i === positionAt ? "(SELECT position FROM events WHERE event_id = ?)" : "?")).join(",")})`);
      args.push(...row.map((value, i) => (i === positionAt ? eventId : value)));
    }
    statements.push({ sql: `${verb} INTO ${table.name} (${table.columns.join(",")}) VALUES ${tuples.join(",")}`, args });
  }
  return statements;
}
