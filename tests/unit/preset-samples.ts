import { readFileSync } from "node:fs";
import { join } from "node:path";

// What the real CLIs printed, recorded in tests/fixtures/presets (`<cli>-<version>-*` by
// tests/integration/cli-real-*.test.ts with CLI_SAMPLES_DIR set; the older `*.txt` from the CLIs' documentation and
// bug reports). Each is passed to a preset the way the runner passes it: `output` is the agent's stdout (or result
// file), `log` the whole stdout+stderr of the run.

export const sample = (file: string) => readFileSync(join(import.meta.dirname, "..", "fixtures", "presets", file.includes(".") ? file : `${file}.txt`), "utf8");
export const at = (iso: string) => new Date(iso);
/** A wall-clock time on the runner host, where a CLI prints reset times without a zone. */
export const local = (y: number, month: number, d: number, h: number, mi = 0, s = 0) => new Date(y, month - 1, d, h, mi, s);
/** The margin every reset read from a CLI gets (runner/presets/reset-time.ts). */
export const MARGIN_MS = 15_000;
/** A reset printed to the minute: the end of that minute, plus the margin. */
export const endOfMinute = (minute: Date) => new Date(minute.getTime() + 60_000 + MARGIN_MS).toISOString();
/** An exact or relative reset, plus the margin. */
export const plusMargin = (instant: Date | number) => new Date(new Date(instant).getTime() + MARGIN_MS).toISOString();
