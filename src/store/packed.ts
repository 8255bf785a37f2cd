/**
 * Many rows read as one JSON string that SQLite packs (`json_group_array(json_array(…))`): turning
 * 10,000 rows into client row objects costs more than the query. Each field is named once, beside the
 * SQL expression that reads it; the select list and the readers both follow that one order, so no
 * reader counts positions. Rows stay arrays (a reader per field, not an object per row: the pass
 * reads 10,000 of them).
 */
export type PackedRow = readonly unknown[];

export interface PackedRows<R> {
  /** The select expression; alias it (`${select} AS list`) and hand that column to `rows`. */
  readonly select: string;
  /** A reader per field: `read.id(row)`. */
  readonly read: { readonly [K in keyof R]-?: (row: PackedRow) => R[K] };
  rows(list: unknown): PackedRow[];
}

export function packedRows<R extends object>(columns: { readonly [K in keyof R]-?: string }): PackedRows<R> {
  const names = Object.keys(columns) as (keyof R & string)[];
  return {
    select: `json_group_array(json_array(${names.map((name) => columns[name]).join(", ")}))`,
    read: Object.fromEntries(names.map((name, i) => [name, (row: PackedRow) => row[i]])) as PackedRows<R>["read"],
    rows: (list) => JSON.parse(String(list ?? "[]")) as PackedRow[],
  };
}
