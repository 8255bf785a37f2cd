import type { InStatement, InValue, ResultSet, Row } from "@libsql/client";
import Libsql from "libsql";

// The write connection of an embedded store, on the `libsql` package @libsql/client itself runs on,
// with the one thing the client does not do: keep statements prepared. An append is a handful of
// statements whose text repeats (the event insert, a row update, a guard); preparing each anew, as
// the client does for every call, cost about as much as running it. Everything else (transactions
// all or nothing, errors with SQLite's codes and the index of the statement that failed) is as the
// client has it.

type Statement = Libsql.Statement;

const CACHE_SIZE = 200;

/** A failed statement of a batch, with SQLite's code and its index, like the client's LibsqlBatchError. */
export class NativeBatchError extends Error {
  constructor(
    cause: unknown,
    readonly statementIndex: number,
    readonly code: string,
  ) {
    super((cause as Error).message ?? String(cause), { cause });
    this.name = "NativeBatchError";
  }
}

export class NativeWriter {
  private readonly db: Libsql.Database;
  private readonly statements = new Map<string, Statement>();

  constructor(path: string, busyTimeoutMs: number, pragmas: string[]) {
    this.db = new Libsql(path, { timeout: busyTimeoutMs / 1000 });
    for (const pragma of pragmas) this.db.exec(pragma);
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  begin(): void {
    this.prepared("BEGIN IMMEDIATE").run();
  }

  commit(): void {
    this.prepared("COMMIT").run();
  }

  rollback(): void {
    if (this.db.inTransaction) this.prepared("ROLLBACK").run();
  }

  /** Runs one statement inside the transaction the caller began. */
  execute(statement: InStatement): ResultSet {
    const { sql, args } = typeof statement === "string" ? { sql: statement, args: [] as InValue[] } : statement;
    const stmt = this.prepared(sql);
    const values = Array.isArray(args) ? args.map(toSql) : args ?? [];
    if (stmt.reader) {
      const columns = stmt.columns().map((c) => c.name);
      const rows = (stmt.raw(true).all(values) as unknown[][]).map((values) => rowOf(columns, values));
      return resultSet(columns, rows, 0, undefined);
    }
    const info = stmt.run(values);
    return resultSet([], [], info.changes, BigInt(info.lastInsertRowid));
  }

  /** Runs the statements in order inside the caller's transaction; a failure names the statement. */
  batch(statements: InStatement[]): ResultSet[] {
    return statements.map((statement, i) => {
      try {
        return this.execute(statement);
      } catch (error) {
        throw new NativeBatchError(error, i, String((error as { code?: string }).code ?? "SQLITE_ERROR"));
      }
    });
  }

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  private prepared(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (stmt) return stmt;
    stmt = this.db.prepare(sql);
    // Statements made for one batch (a thousand rows' worth of placeholders) are not worth keeping.
    if (sql.length < 4_000) {
      if (this.statements.size >= CACHE_SIZE) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}

function toSql(value: InValue): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.valueOf();
  return value;
}

/** A row as the client gives it: by column name, and by index. */
function rowOf(columns: string[], values: unknown[]): Row {
  const row: Record<string | number, unknown> = {};
  columns.forEach((name, i) => {
    Object.defineProperty(row, name, { value: values[i], enumerable: true, configurable: true, writable: true });
    Object.defineProperty(row, i, { value: values[i], enumerable: false, configurable: true, writable: true });
  });
  Object.defineProperty(row, "length", { value: columns.length, enumerable: false });
  return row as unknown as Row;
}

function resultSet(columns: string[], rows: Row[], rowsAffected: number, lastInsertRowid: bigint | undefined): ResultSet {
  return {
    columns,
    columnTypes: columns.map(() => ""),
    rows,
    rowsAffected,
    lastInsertRowid,
    toJSON: () => ({ columns, rows, rowsAffected, lastInsertRowid: lastInsertRowid?.toString() }),
  } as ResultSet;
}
