import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { systemTimers, type Timers } from "../../src/shared/clock.ts";
import { ValidationError } from "../../src/shared/errors.ts";

// An agent leads its own process group, so whatever it starts can be stopped with it: TERM to the whole
// group, KILL after a grace period, and nothing of the group left when a run is reported.

/** SIGTERM → SIGKILL grace when a spec names none. */
export const DEFAULT_GRACE_MS = 5_000;
/** A group sent KILL is gone within moments; one that lingers longer is not waited for. */
const KILLED_GROUP_WAIT_MS = 2_000;
const POLL_MS = 20;

/** Signals the process group led by `pid`. False when no such group exists (or it is not ours to signal). */
export function killProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  assertGroupLeader(pid);
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH" || code === "EPERM") return false;
    throw error;
  }
}

/**
 * Whether a process of ours with this pid is there. One we may not signal (EPERM) is another user's: the pid
 * was reused, so ours is gone.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process of the group led by `pid` is still running (zombies waiting to be reaped do not count). */
export function processGroupAlive(pid: number): boolean {
  assertGroupLeader(pid);
  try {
    process.kill(-pid, 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
    throw error;
  }
  // kill(2) also finds zombies, and a container's init may never reap the orphans of a killed group.
  const states = linuxGroupStates(pid);
  return states === null || states.some((state) => state !== "Z" && state !== "X");
}

/** One run's process group, from its spawn until none of it is left. */
export class AgentProcessGroup {
  private phase: "running" | "terminating" | "killed" = "running";
  private cancelKill = (): void => {};

  constructor(
    readonly pid: number,
    private readonly graceMs: number,
    private readonly timers: Timers = systemTimers,
  ) {
    assertGroupLeader(pid);
  }

  /** TERM to the whole group, KILL after the grace period (this run's, unless `graceMs` is shorter). Only the first call counts. */
  readonly terminate = (graceMs: number = this.graceMs): void => {
    if (this.phase !== "running") return;
    this.phase = "terminating";
    killProcessGroup(this.pid, "SIGTERM");
    // A stopped process keeps SIGTERM pending until it is continued.
    killProcessGroup(this.pid, "SIGCONT");
    this.cancelKill = this.timers.after(Math.min(graceMs, this.graceMs), () => {
      this.phase = "killed";
      killProcessGroup(this.pid, "SIGKILL");
    });
  };

  /**
   * Once the leader has exited: ends what it left behind and waits until the group is gone. During a
   * termination the stragglers keep the rest of their grace period; otherwise they go at once.
   */
  async reap(): Promise<void> {
    const { pid } = this;
    if (this.phase === "running" && processGroupAlive(pid)) killProcessGroup(pid, "SIGKILL");
    while (this.phase === "terminating" && processGroupAlive(pid)) await sleep(POLL_MS);
    this.cancelKill();
    if (processGroupAlive(pid)) killProcessGroup(pid, "SIGKILL");
    for (let waited = 0; processGroupAlive(pid) && waited < KILLED_GROUP_WAIT_MS; waited += POLL_MS) await sleep(POLL_MS);
  }
}

function assertGroupLeader(pid: number): void {
  // -1 would signal every process we may signal, and our own group would take the runner with it.
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) {
    throw new ValidationError(`${pid} is not an agent's process group id`);
  }
}

/** The states (R, S, Z, …) of the processes in a group, from /proc; null where /proc is not available. */
function linuxGroupStates(pgid: number): string[] | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const states: string[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses, so split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) states.push(fields[0]!);
  }
  return states;
}
