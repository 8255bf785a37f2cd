import { setTimeout as sleep } from "node:timers/promises";
import { namespacePids, sandboxNamespace } from "./forward.mjs";

// "No process of a run is alive after its report" (DESIGN §12): the sandbox's PID namespace is found from the
// supervisor's pid as soon as bwrap has made it, and after the run the runner waits for it to be empty before
// it commits or reports. It nearly always is already (the kernel empties a namespace whose init dies); the
// wait closes the moment after a kill -9 in which the agent's pipes have closed but a daemon that closed its
// own stdio is not dead yet.

const POLL_MS = 20;
/** How long a run's namespace may take to empty before the attempt fails. */
export const NAMESPACE_EMPTY_WAIT_MS = 2_000;

export class SandboxWatch {
  private namespace: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  /** Looks for the sandbox below `supervisorPid` every 20 ms until it is found or the run ends. */
  start(supervisorPid: number): void {
    const look = () => {
      this.namespace = sandboxNamespace(supervisorPid);
      if (this.namespace && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
    this.timer = setInterval(look, POLL_MS);
    look();
  }

  /**
   * After the run: the host pids still alive in its namespace once `waitMs` have passed (empty: nothing of the
   * run is left). A run too short to have been seen left nothing either: bwrap is gone, and with it the
   * namespace's init and everything in it.
   */
  async settle(waitMs = NAMESPACE_EMPTY_WAIT_MS): Promise<number[]> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const namespace = this.namespace;
    if (!namespace) return [];
    for (let waited = 0; ; waited += POLL_MS) {
      const left = namespacePids(namespace);
      if (!left.length || waited >= waitMs) return left;
      await sleep(POLL_MS);
    }
  }
}
