import { percent, TRUST_WINDOW } from "../domain/trust/trust.ts";
import type { Executor } from "../store/db.ts";

// Beside the trust numbers, `cos trust` shows how often an (agent, type)'s results pass their project's checks
// (issue 16). Information only: trust moves on human verdicts alone (DESIGN §5), and this number moves nothing.

export interface CheckPassRate {
  /** Results whose checks all passed / checked results, over the last TRUST_WINDOW checked results; null with none. */
  rate: number | null;
  /** Checked results in that window. */
  n: number;
}

/**
 * Read from the log's results, newest first: every attempt counts, the one sent back on its own for failed
 * checks too (the tasks table keeps only each task's last result). A result whose run changed nothing (no
 * checks ran) is left out.
 */
export async function checkPassRate(db: Executor, agent: string, type: string): Promise<CheckPassRate> {
  const result = await db.execute({
    sql: `SELECT NOT EXISTS (SELECT 1 FROM json_each(e.data, '$.checks') c WHERE json_extract(c.value, '$.outcome') <> 'passed') AS passed
          FROM events e
          WHERE e.stream IN (SELECT 'task-' || id FROM tasks WHERE agent = ? AND type = ?)
            AND e.type = 'TaskResultReported' AND json_array_length(e.data, '$.checks') > 0
          ORDER BY e.position DESC LIMIT ?`,
    args: [agent, type, TRUST_WINDOW],
  });
  const n = result.rows.length;
  const passed = result.rows.filter((r) => Number(r.passed) === 1).length;
  return { rate: n ? passed / n : null, n };
}

/** `90% of 10`: the share of the last checked results whose checks all passed; `-` with none. */
export function checkRateText(checks: CheckPassRate): string {
  return checks.rate === null ? "-" : `${percent(checks.rate)} of ${checks.n}`;
}
