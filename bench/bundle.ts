import { symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { BUNDLE_OPTIONS } from "../bin/build.js";
import { ROOT } from "./lib.ts";

/**
 * Bundles a bench worker with bin/build.js's options, so that what it times is the code `cos` runs: under tsx every
 * inner function is wrapped for its name on each call, which alone adds seconds to a 1M-event rebuild.
 * Returns the path of the bundle, in `outDir`, which gets a node_modules link for the externals.
 */
export async function bundleWorker(entry: string, outDir: string): Promise<string> {
  symlinkSync(join(ROOT, "node_modules"), join(outDir, "node_modules"), "dir");
  const outfile = join(outDir, basename(entry).replace(/\.ts$/, ".mjs"));
  await build({ ...BUNDLE_OPTIONS, entryPoints: [entry], outfile });
  return outfile;
}
