import type { InStatement, InValue } from "@libsql/client";
import type { AggregateProjection, TableSpec } from "./projections.ts";

/**
 * The statements that bring one aggregate's projection rows from `oldRows` to `newRows` (null: a new
 * aggregate), `key` being the aggregate's. Table by table: an unchanged table is left alone, one that only grew gets the new
 * rows inserted, and anything else is rewritten. The result is the same rows `rebuild` writes, with
 * a fraction of the statements (most appends touch one row and add one).
 *
 * `placeholder` names the pending event whose position a value stands for, in a table's
 * `positionColumn` (the event is in the same batch, its position not known yet): such a value is
 * written as a lookup of that event's position.
 */
export function projectionStatements(
  projection: AggregateProjection,
  oldRows: Record<string, InValue[][]> | null,
  newRows: Record<string, InValue[][]>,
  key: InValue,
  placeholder: (value: InValue) => string | null,
): InStatement[] {
  const statements: InStatement[] = [];
  for (const table of projection.tables) {
    const next = newRows[table.name] ?? [];
    const prev = oldRows?.[table.name] ?? [];
    const grewOnly = oldRows !== null && prev.length <= next.length && prev.every((row, j) => sameRow(row, next[j]));
    if (grewOnly && prev.length === next.length) continue;
    // The same rows, some of them changed: each changed row gets the columns that changed, in place
    // (cheaper than a replace, which deletes and inserts the row and every index entry).
    const rowKey = table.singleRow ? [table.key] : table.rowKey;
    if (!grewOnly && oldRows !== null && rowKey && prev.length === next.length && sameKeys(table.columns, rowKey, prev, next)) {
      next.forEach((row, j) => {
        if (!sameRow(prev[j]!, row)) statements.push(updateRow(table, rowKey, prev[j]!, row, placeholder));
      });
      continue;
    }
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

/** Row by row, the same values in the key columns. */
function sameKeys(columns: string[], rowKey: string[], prev: InValue[][], next: InValue[][]): boolean {
  const at = rowKey.map((c) => columns.indexOf(c));
  return prev.every((row, j) => at.every((i) => row[i] === next[j]![i]));
}

/** `UPDATE … SET <the columns that changed> WHERE <the row's key>`. */
function updateRow(table: TableSpec, rowKey: string[], before: InValue[], after: InValue[], placeholder: (value: InValue) => string | null): InStatement {
  const sets: string[] = [];
  const args: InValue[] = [];
  table.columns.forEach((column, i) => {
    if (before[i] === after[i]) return;
    const eventId = column === table.positionColumn ? placeholder(after[i]!) : null;
    sets.push(eventId === null ? `${column} = ?` : `${column} = (SELECT position FROM events WHERE event_id = ?)`);
    args.push(eventId ?? after[i]!);
  });
  for (const column of rowKey) args.push(after[table.columns.indexOf(column)]!);
  return { sql: `UPDATE ${table.name} SET ${sets.join(", ")} WHERE ${rowKey.map((c) => `${c} = ?`).join(" AND ")}`, args };
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
