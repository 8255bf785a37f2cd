import { fail, ok, warn, type Check } from "../../src/doctor/check.ts";
import { howToFix, probeBwrap, unavailable } from "../sandbox/index.ts";

// `cos doctor` on the agent sandbox (DESIGN §12): bubblewrap on the runner's PATH, and a trial sandbox with the
// options of a real run, which is what tells a working bwrap from one a kernel or AppArmor stops.

export async function checkSandbox(pathVariable: string | undefined): Promise<Check[]> {
  const probe = await probeBwrap(pathVariable);
  if (!probe.works) {
    return [fail("sandbox", `${unavailable(probe)}: agents would run unsandboxed, able to read cos's secrets and store`, howToFix(probe))];
  }
  const checks = [ok("sandbox", `${probe.version ?? "bubblewrap"} at ${probe.path}: a trial sandbox ran`)];
  if (!probe.worksWithoutNetwork) {
    checks.push(warn("sandbox", `bubblewrap cannot cut the network here (${probe.error ?? "unknown error"}): runs of agents with network: false are refused`));
  }
  return checks;
}
