import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { SANDBOX_SETTINGS } from "../../src/config/config.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { BASE_MOUNTS } from "./mounts.ts";
import { PROCESS_OPTIONS } from "./build.ts";

// `runner.sandbox` (DESIGN §12): `auto` (bubblewrap when it works here, else unsandboxed with a warning at
// start), `bwrap` (required: refuse to start without it), `none` (explicit). "Works here" is decided by a
// trial run with the options every real run uses: bwrap on PATH is not enough (Ubuntu's AppArmor profile or
// a container without user namespaces lets it start and then fail every sandbox).

export { SANDBOX_SETTINGS };
export type SandboxSetting = (typeof SANDBOX_SETTINGS)[number];

export interface BwrapProbe {
  /** bwrap's path on PATH, or null. */
  path: string | null;
  /** `bubblewrap 0.8.0`, when it answered. */
  version: string | null;
  /** A trial sandbox (the options of a real run, network on) ran `true` and exited 0. */
  works: boolean;
  /** The same with the network cut (`agents.<name>.network: false`). */
  worksWithoutNetwork: boolean;
  /** What bwrap said when a trial failed. */
  error: string | null;
}

export interface SandboxDecision {
  mode: "bwrap" | "none";
  /** Printed once at the start of `cos serve` / `cos runner` when set. */
  warning: string | null;
  /** bwrap's path when mode is "bwrap". */
  bwrap: string | null;
}

const run = promisify(execFile);
const TRIAL_TIMEOUT_MS = 10_000;

/** Finds bwrap on PATH and tries it. Never throws: a probe that fails says why in `error`. */
export async function probeBwrap(pathVariable: string | undefined = process.env.PATH): Promise<BwrapProbe> {
  const path = findOnPath("bwrap", pathVariable);
  if (!path) return { path: null, version: null, works: false, worksWithoutNetwork: false, error: null };
  const env = { PATH: pathVariable ?? "/usr/bin:/bin" };
  const trial = async (extra: string[]): Promise<string | null> => {
    try {
      await run(path, [...PROCESS_OPTIONS, ...extra, ...BASE_MOUNTS, "--", "true"], { env, timeout: TRIAL_TIMEOUT_MS });
      return null;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      return (e.stderr?.trim() || e.message).split("\n")[0]!;
    }
  };
  let version: string | null = null;
  try {
    version = (await run(path, ["--version"], { env, timeout: TRIAL_TIMEOUT_MS })).stdout.trim() || null;
  } catch {
    // An old bwrap without --version still may work; the trial decides.
  }
  const [withNet, withoutNet] = await Promise.all([trial([]), trial(["--unshare-net"])]);
  return { path, version, works: withNet === null, worksWithoutNetwork: withoutNet === null, error: withNet ?? withoutNet };
}

/** What `runner.sandbox` means on this machine. Throws for `bwrap` when bubblewrap cannot sandbox here. */
export function decideSandboxMode(setting: SandboxSetting, probe: BwrapProbe): SandboxDecision {
  switch (setting) {
    case "none":
      return { mode: "none", warning: null, bwrap: null };
    case "bwrap":
      if (probe.works) return { mode: "bwrap", warning: null, bwrap: probe.path };
      throw new ValidationError(`runner.sandbox is "bwrap", but ${unavailable(probe)}. ${howToFix(probe)} (or set runner.sandbox to "auto" or "none")`);
    case "auto":
      if (probe.works) return { mode: "bwrap", warning: null, bwrap: probe.path };
      return {
        mode: "none",
        bwrap: null,
        warning:
          `warning: agents run UNSANDBOXED: ${unavailable(probe)}. An agent can then read this process's secrets ` +
          `(bot tokens, the runner token) from /proc/<pid>/environ, read cos's data folder, store, config and .env, ` +
          `write hooks and config into the repository's git dir, and leave processes running after its run. ` +
          `${howToFix(probe)}, then restart; set runner.sandbox to "none" to run unsandboxed on purpose (and drop this ` +
          `warning), or to "bwrap" to refuse to start without it.`,
      };
  }
}

/** For a run whose agent has `network: false` on a host where bwrap works but cannot cut the network. */
export function networkUnavailable(probe: BwrapProbe): string | null {
  if (!probe.works || probe.worksWithoutNetwork) return null;
  return `this agent has network: false, but bubblewrap cannot create a network namespace here (${probe.error ?? "unknown error"}); the run is refused rather than given the network`;
}

/** What to do so that bubblewrap works here. */
export function howToFix(probe: BwrapProbe): string {
  if (!probe.path) return "Install bubblewrap (Debian and Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`)";
  return (
    "Allow user namespaces for bwrap (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; " +
    "on Ubuntu 24.04 an AppArmor profile for bwrap, or kernel.apparmor_restrict_unprivileged_userns=0; in a container, " +
    "one that permits namespaces)"
  );
}

/** Why bubblewrap cannot sandbox here. */
export function unavailable(probe: BwrapProbe): string {
  if (!probe.path) return "bubblewrap (bwrap) is not on PATH";
  return `${probe.path} cannot create a sandbox here (${probe.error ?? "unknown error"})`;
}

function findOnPath(name: string, pathVariable: string | undefined): string | null {
  for (const dir of (pathVariable ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
