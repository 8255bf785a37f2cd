import { readFileSync, readlinkSync } from "node:fs";
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

interface Found {
  namespace: string;
  /** The host pid of the namespace's init (bwrap's child), when it was found directly. */
  init: number | null;
}

export class SandboxWatch {
  private found: Found | null = null;
  private timer: NodeJS.Timeout | null = null;

  /** Looks for the sandbox below `supervisorPid` every 20 ms until it is found or the run ends. */
  start(supervisorPid: number): void {
    const look = () => {
      this.found = findSandbox(supervisorPid);
      if (this.found && this.timer) {
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
    const found = this.found;
    if (!found) return [];
    for (let waited = 0; ; waited += POLL_MS) {
      // The kernel empties a namespace before its init is reaped: an init that is gone needs no look at /proc.
      if (found.init !== null && namespaceOf(found.init) !== found.namespace) return [];
      const left = namespacePids(found.namespace);
      if (!left.length || waited >= waitMs) return left;
      await sleep(POLL_MS);
    }
  }
}

/**
 * The sandbox below the supervisor: through /proc/<pid>/task/<pid>/children (supervisor → bwrap → the
 * namespace's init) where the kernel has it, which reads three files; else the scan of all /proc that
 * forward.mjs does.
 */
function findSandbox(supervisorPid: number): Found | null {
  const own = namespaceOf(supervisorPid);
  const bwraps = childrenOf(supervisorPid);
  if (own === null || bwraps === null) {
    const namespace = sandboxNamespace(supervisorPid);
    return namespace ? { namespace, init: null } : null;
  }
  for (const bwrap of bwraps) {
    for (const init of childrenOf(bwrap) ?? []) {
      const namespace = namespaceOf(init);
      if (namespace !== null && namespace !== own) return { namespace, init };
    }
  }
  return null;
}

function childrenOf(pid: number): number[] | null {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
  } catch {
    return null;
  }
}

function namespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}
