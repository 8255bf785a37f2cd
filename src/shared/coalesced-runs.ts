/**
 * Runs a job one run at a time: asked while a run is under way, it runs once more right after it,
 * however often it was asked meanwhile, and every caller is answered when the run that covers its
 * request is done. The resolver's passes and a chat inbox's handling both go this way.
 */
export class CoalescedRuns {
  private current: Promise<void> | null = null;
  private again = false;

  /**
   * `run` returns true when it left work over (it runs again at once); `stopped` ends the repeats.
   * A run that throws ends the round, and its callers get the error.
   */
  constructor(
    private readonly run: () => Promise<boolean | void>,
    private readonly stopped: () => boolean,
  ) {}

  /** Runs now, or right after the run under way. */
  request(): Promise<void> {
    if (this.current) {
      this.again = true;
      return this.current;
    }
    this.current = (async () => {
      try {
        do {
          this.again = false;
          if (await this.run()) this.again = true;
        } while (this.again && !this.stopped());
      } finally {
        // Cleared in the same turn the last run ends: a request after it starts a new round.
        this.current = null;
      }
    })();
    return this.current;
  }

  /** The round under way, if any: what stopping waits for. */
  get underWay(): Promise<void> | null {
    return this.current;
  }
}
