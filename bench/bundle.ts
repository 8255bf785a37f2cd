import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { BUNDLE_OPTIONS, ensureBuild } from "../bin/build.js";
import { ROOT } from "./lib.ts";

/**
 * Bundles a bench worker with bin/build.js's options, so that what it times is the code `cos` runs: under tsx every
 * inner function is wrapped for its name on each call, which alone adds seconds to a 1M-event rebuild.
 * The bundle goes under bench/tmp/ inside the package (git ignores it), so the code finds the package's own
 * files, as the rebuild finds its worker thread's entry; `cos`'s own bundle is made first, as `cos` would have.
 * Returns the path of the bundle.
 */
export async function bundleWorker(entry: string): Promise<string> {
  const outDir = join(ROOT, "bench", "tmp", "workers");
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, basename(entry).replace(/\.ts$/, ".mjs"));
  await build({ ...BUNDLE_OPTIONS, entryPoints: [entry], outfile });
  await ensureBuild("handlers/cli/main.ts");
  return outfile;
}
