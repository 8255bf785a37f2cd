// The hostile agents (tests/fixtures/agents/hostile.mjs for the sandbox test, hostile-run.mjs for the run
// through cos serve) print one JSON line an attempt among their other output; both tests read them alike.

/** The JSON lines of a probe's output, in order; its other lines (a log, a shell's noise) are passed over. */
export function reportLines<T>(output: string): T[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as T);
}

/** With SANDBOX_TEST_VERBOSE set, prints each attempt and whether it worked, to see what a probe tried. */
export function printAttemptsIfVerbose(attempts: [attack: string, worked: boolean, detail: string][]): void {
  if (!process.env.SANDBOX_TEST_VERBOSE) return;
  for (const [attack, worked, detail] of attempts) console.log(`${worked ? "WORKED" : "failed"}  ${attack.padEnd(30)} ${detail.replace(/\s+/g, " ").slice(0, 110)}`);
}
