import type { CliIo } from "./io.ts";

/**
 * Shows on a terminal that a long command is at work (`cos rebuild`, `cos backup`): what it does and
 * for how long so far, on one line it clears when done. Nothing is shown when stderr is not a terminal.
 */
export async function withProgress<T>(io: CliIo, doing: string, work: () => Promise<T>): Promise<T> {
  const show = io.progress;
  if (!show) return work();
  const started = Date.now();
  show(`${doing}…`);
  const timer = setInterval(() => show(`${doing}… ${Math.round((Date.now() - started) / 1000)} s`), 500);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    show(null);
  }
}
