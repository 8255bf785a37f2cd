import { ValidationError } from "../shared/errors.ts";

// `search_memory`: what earlier tasks of a project learned — results, handoffs, learnings, notes — found
// by words (SQLite FTS5, porter stemming) and ranked by bm25, titles and learnings weighing most.

interface Executor {
  execute(statement: { sql: string; args: (string | number | null)[] }): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface MemoryHit {
  taskId: number;
  title: string;
  status: string;
  /** bm25: lower is better; hits come best first. */
  rank: number;
  /** The best-matching passage, matches in «». */
  snippet: string;
}

const MAX_TERMS = 16;
/** Words too common to tell results apart: left out of a query unless it has nothing else. */
const STOPWORDS = new Set(
  ("a an and are as at be by can could did do does for from had has have how i if in is it its of on or our " +
    "should so that the their then there this to up was we were what when where which who why will with would you your").split(" "),
);

/**
 * The query's words, each a quoted FTS5 term, any of them matching: an agent's query is prose, not FTS5
 * syntax, and a stray quote or operator in it must not become a syntax error.
 */
export function memoryQuery(text: string): string {
  const all = [...new Set((text.match(/[\p{L}\p{N}_]+/gu) ?? []).map((w) => w.toLowerCase()))];
  if (!all.length) throw new ValidationError("give some words to search for");
  const telling = all.filter((w) => !STOPWORDS.has(w));
  return (telling.length ? telling : all).slice(0, MAX_TERMS).map((w) => `"${w}"`).join(" OR ");
}

export async function searchMemory(db: Executor, project: string | null, text: string, limit = 10): Promise<MemoryHit[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 50) throw new ValidationError("limit must be from 1 to 50");
  const result = await db.execute({
    sql: `SELECT memory_fts.rowid AS task_id, memory_fts.title AS title, t.status AS status,
                 bm25(memory_fts, 0, 2, 1, 1, 1.5, 1) AS rank,
                 snippet(memory_fts, -1, '«', '»', '…', 24) AS snippet
          FROM memory_fts JOIN tasks t ON t.id = memory_fts.rowid
          WHERE memory_fts MATCH ? AND memory_fts.project IS ?
          ORDER BY rank LIMIT ?`,
    args: [memoryQuery(text), project, limit],
  });
  return result.rows.map((r) => ({
    taskId: Number(r.task_id),
    title: String(r.title),
    status: String(r.status),
    rank: Number(r.rank),
    snippet: String(r.snippet),
  }));
}
