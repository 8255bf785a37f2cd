// What `cos doctor` reports: one line per thing checked, each ✓ (fine), ⚠ (works, but look at it) or ✗ (broken:
// what to do is on the line). `cos doctor` exits 1 when any line is ✗.

export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  /** What was checked: "store", "agent builder", "telegram". */
  subject: string;
  status: CheckStatus;
  /** What was found. */
  text: string;
  /** What to do about it (for ⚠ and ✗). */
  fix?: string;
}

const MARK: Record<CheckStatus, string> = { ok: "✓", warn: "⚠", fail: "✗" };

export const ok = (subject: string, text: string): Check => ({ subject, status: "ok", text });
export const warn = (subject: string, text: string, fix?: string): Check => ({ subject, status: "warn", text, ...(fix ? { fix } : {}) });
export const fail = (subject: string, text: string, fix: string): Check => ({ subject, status: "fail", text, fix });

export function renderCheck(check: Check): string {
  return `${MARK[check.status]} ${check.subject}: ${check.text}${check.fix ? ` — ${check.fix}` : ""}`;
}

export function broken(checks: readonly Check[]): number {
  return checks.filter((c) => c.status === "fail").length;
}

/** The report as text: the lines, then one line that sums it up. */
export function renderReport(checks: readonly Check[]): string {
  const failed = broken(checks);
  const warned = checks.filter((c) => c.status === "warn").length;
  const summary = failed
    ? `${failed} problem${failed === 1 ? "" : "s"} to fix (✗)${warned ? `, ${warned} warning${warned === 1 ? "" : "s"}` : ""}`
    : warned
      ? `nothing broken; ${warned} warning${warned === 1 ? "" : "s"} (⚠)`
      : "everything checked is fine";
  return [...checks.map(renderCheck), "", summary].join("\n");
}
