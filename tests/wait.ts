/**
 * Waits for something a test is not told about directly (a row in the store, a line in a log, a process
 * gone) by asking again every `everyMs`, and returns the first truthy answer. The deadline only turns a
 * hang into a failure that names what never came: no test asserts how long a wait took (speed is the
 * bench's business).
 */
export async function waitFor<T>(
  check: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await check();
    if (answer) return answer;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, everyMs));
  }
}
