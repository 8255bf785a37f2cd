// Signals for a sandbox, from the supervisor outside it (plain JS: supervise.mjs runs without a build step).
//
// The runner stops a run by signalling its process group: SIGTERM, then SIGKILL after a grace period. bwrap
// forwards no signal: SIGTERM kills bwrap at once, and --die-with-parent then SIGKILLs the whole sandbox, so
// the agent never sees the SIGTERM it is owed (tried). So the supervisor starts bwrap in a process group of
// its own, where the runner's group signals do not reach it, passes SIGTERM and SIGCONT on to the processes
// inside with `signalSandbox`, and relies on --die-with-parent for SIGKILL: when the supervisor dies, bwrap,
// the namespace's init and with it every process of the namespace die.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * The host pids of the processes inside the sandbox started as `bwrapPid`: every descendant of bwrap (orphans
 * and `setsid` daemons are re-parented to the namespace's init, so they stay descendants), except the init
 * itself (pid 1 inside: bwrap's reaper). Empty where /proc cannot be read.
 */
export function sandboxPids(bwrapPid) {
  const children = childrenTable();
  const found = [];
  const queue = [...(children.get(bwrapPid) ?? [])];
  while (queue.length) {
    const pid = queue.shift();
    if (!isNamespaceInit(pid)) found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** Sends `signal` to every process inside the sandbox; returns how many got it. */
export function signalSandbox(bwrapPid, signal) {
  let sent = 0;
  for (const pid of sandboxPids(bwrapPid)) {
    try {
      process.kill(pid, signal);
      sent++;
    } catch {
      // exited meanwhile
    }
  }
  return sent;
}

/**
 * The sandbox's PID namespace as the kernel names it ("pid:[4026532840]"): that of the first process below
 * `pid` (bwrap, or the supervisor that started it) in a PID namespace other than `pid`'s own; null until
 * bwrap has made it. Recorded at the start of a run, it answers "is anything of this run still alive?" after
 * bwrap itself is gone (`namespacePids`), when descendants can no longer be followed.
 */
export function sandboxNamespace(pid) {
  let own;
  try {
    own = readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
  const children = childrenTable();
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length) {
    const next = queue.shift();
    try {
      const ns = readlinkSync(`/proc/${next}/ns/pid`);
      if (ns !== own) return ns;
    } catch {
      // gone meanwhile
    }
    queue.push(...(children.get(next) ?? []));
  }
  return null;
}

/**
 * The host pids of the live processes in a PID namespace (zombies waiting to be reaped do not count). Empty
 * means the run is over: the kernel empties a PID namespace before its init is reaped.
 */
export function namespacePids(namespace) {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== namespace) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z") found.push(Number(entry));
    } catch {
      // gone meanwhile, or a zombie whose namespace is already released
    }
  }
  return found;
}

/** Every process's children, from /proc: ppid → pids. Empty where /proc cannot be read. */
function childrenTable() {
  const children = new Map();
  let entries;
  try {
    entries = readdirSync("/proc");
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  return children;
}

/** Whether the process is pid 1 of a namespace below ours ("NSpid: 4242 1"). */
function isNamespaceInit(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("NSpid:"));
    const ids = line ? line.slice(6).trim().split(/\s+/) : [];
    return ids.length > 1 && ids[ids.length - 1] === "1";
  } catch {
    return false;
  }
}
