/** The host pids of the processes inside the sandbox started as `bwrapPid`, its init excepted. */
export function sandboxPids(bwrapPid: number): number[];
/** Sends `signal` to every process inside the sandbox; returns how many got it. */
export function signalSandbox(bwrapPid: number, signal: NodeJS.Signals): number;
