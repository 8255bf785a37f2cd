/** The host pids of the processes inside the sandbox started as `bwrapPid`, its init excepted. */
export function sandboxPids(bwrapPid: number): number[];
/** Sends `signal` to every process inside the sandbox; returns how many got it. */
export function signalSandbox(bwrapPid: number, signal: NodeJS.Signals): number;
/** The sandbox's PID namespace ("pid:[4026532840]") below `pid` (bwrap or its supervisor) once bwrap has made it; null before. */
export function sandboxNamespace(pid: number): string | null;
/** The host pids of the live processes in a PID namespace; empty when the run is over. */
export function namespacePids(namespace: string): number[];
