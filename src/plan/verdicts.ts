import type { Verdict } from "../domain/task/task.ts";
import { TRUST_WINDOW } from "../domain/trust/trust.ts";
import type { Executor } from "../store/db.ts";

/** The human verdicts trust looks at for an (agent, type), newest first, by log position. */
export async function verdictWindow(db: Executor, agent: string, type: string): Promise<Verdict[]> {
  const result = await db.execute({
    sql: "SELECT verdict FROM verdicts WHERE agent = ? AND type = ? ORDER BY position DESC LIMIT ?",
    args: [agent, type, TRUST_WINDOW],
  });
  return result.rows.map((r) => r.verdict as Verdict);
}
