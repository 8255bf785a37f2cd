// Formats every chat platform shares: the data a card's buttons carry, and times as people read them.

/** What a card button carries: `v:<a|s|d>:<task>:<attempt>` (well under Telegram's 64 bytes of callback_data). */
export function verdictData(action: "approve" | "send_back" | "discard", taskId: number, attempt: number): string {
  return `v:${action === "approve" ? "a" : action === "send_back" ? "s" : "d"}:${taskId}:${attempt}`;
}

export function parseVerdictData(data: string): { action: "approve" | "send_back" | "discard"; taskId: number; attempt: number } | null {
  const m = /^v:([asd]):(\d{1,12}):(\d{1,6})$/.exec(data);
  if (!m) return null;
  const action = m[1] === "a" ? "approve" : m[1] === "s" ? "send_back" : "discard";
  return { action, taskId: Number(m[2]), attempt: Number(m[3]) };
}

export { formatTime } from "../shared/zoned-time.ts";
