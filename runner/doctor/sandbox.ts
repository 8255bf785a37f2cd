import { fail, ok, warn, type Check } from "../../src/doctor/check.ts";
import type { SandboxSetting } from "../sandbox/mode.ts";
import { howToFix, probeBwrap, unavailable } from "../sandbox/index.ts";

// `cos doctor` on the agent sandbox (DESIGN §12): bubblewrap on the runner's PATH, and a trial sandbox with the
// options of a real run, which is what tells a working bwrap from one a kernel or AppArmor stops.

export async function checkSandbox(pathVariable: string | undefined, setting: SandboxSetting = "auto"): Promise<Check[]> {
  if (setting === "none") {
    // Chosen on purpose, so not a failure; but said plainly, since it is what the sandbox exists to prevent.
    return [
      warn(
        "sandbox",
        "runner.sandbox is \"none\": agents run unsandboxed, able to read what this user can (cos's secrets and store included)",
        'set runner.sandbox to "auto" or "bwrap" once bubblewrap is installed',
      ),
    ];
  }
  const probe = await probeBwrap(pathVariable);
  if (!probe.works) {
    const consequence = setting === "bwrap" ? "cos refuses to start its runner (runner.sandbox is \"bwrap\")" : "agents would run unsandboxed, able to read cos's secrets and store";
    return [fail("sandbox", `${unavailable(probe)}: ${consequence}`, howToFix(probe))];
  }
  const checks = [ok("sandbox", `${probe.version ?? "bubblewrap"} at ${probe.path}: a trial sandbox ran`)];
  if (!probe.worksWithoutNetwork) {
    checks.push(warn("sandbox", `bubblewrap cannot cut the network here (${probe.error ?? "unknown error"}): runs of agents with network: false are refused`));
  }
  return checks;
}
