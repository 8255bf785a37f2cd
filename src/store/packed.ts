/**
 * Many rows read as one JSON string that SQLite packs (`json_group_array(json_array(…))`): turning
 * 10,000 rows into client row objects costs more than the query. Each field is named once, beside the
 * SQL expression that reads it; the select list and the decoding both follow that one order, so no
 * reader counts positions.
 */
export interface PackedRows<R> {
  /** The select expression; alias it (`${select} AS list`) and hand that column to `rows`. */
  readonly select: string;
  rows(list: unknown): R[];
}

export function packedRows<R extends object>(columns: { readonly [K in keyof R]-?: string }): PackedRows<R> {
  const names = Object.keys(columns) as (keyof R & string)[];
  const count = names.length;
  return {
    select: `json_group_array(json_array(${names.map((name) => columns[name]).join(", ")}))`,
    rows(list) {
      const packed = JSON.parse(String(list ?? "[]")) as unknown[][];
      const out = new Array<R>(packed.length);
      for (let r = 0; r < packed.length; r++) {
        const values = packed[r]!;
        const row: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) row[names[i]!] = values[i];
        out[r] = row as R;
      }
      return out;
    },
  };
}
