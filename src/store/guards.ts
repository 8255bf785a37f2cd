import type { InStatement, InValue } from "@libsql/client";

/**
 * A premise of a decision, checked inside the batch that writes it: `sql` is a boolean SQL
 * expression, true while the premise holds. When it does not, the guard's statement inserts a row
 * into `batch_guards`, whose CHECK refuses every row, and the whole batch rolls back (no trigger, no
 * `raise()`, nothing newer than SQLite 3.8). The command layer then reads again and decides again.
 */
export interface Guard {
  /** What moved, for the ConflictError: "the active tasks", "stream task-4". */
  what: string;
  sql: string;
  args: InValue[];
  /** Set for a stream's version check. */
  stream?: string;
}

export function guardStatement(guard: Guard): InStatement {
  // `IS NOT 1`: a premise that evaluates to NULL does not hold either.
  return { sql: `INSERT INTO batch_guards (failed) SELECT ? WHERE (${guard.sql}) IS NOT 1`, args: [guard.what, ...guard.args] };
}

/** The stream is at exactly this version (0: it does not exist). */
export function streamAtVersion(stream: string, version: number): Guard {
  return {
    what: `stream ${stream}`,
    stream,
    sql: "COALESCE((SELECT MAX(version) FROM events WHERE stream = ?), 0) = ?",
    args: [stream, version],
  };
}

/** Nothing was appended to the log after `position`: for decisions that read much of the store. */
export function logAt(position: number): Guard {
  return { what: "the log", sql: "COALESCE((SELECT MAX(position) FROM events), 0) = ?", args: [position] };
}

/** A query's single value is still what it was when the decision read it (`null` included). */
export function unchanged(what: string, query: string, args: InValue[], value: InValue): Guard {
  return { what, sql: `(${query}) IS ?`, args: [...args, value] };
}
