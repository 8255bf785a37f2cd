import { symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { ROOT } from "./lib.ts";

/**
 * Bundles a bench worker the way bin/build.js bundles `cos` (esbuild, ESM, node20, native and
 * process-spawning packages external), so that what it times is the code `cos` runs: under tsx every
 * inner function is wrapped for its name on each call, which alone adds seconds to a 1M-event rebuild.
 * Returns the path of the bundle, in `outDir`, which gets a node_modules link for the externals.
 */
export async function bundleWorker(entry: string, outDir: string): Promise<string> {
  symlinkSync(join(ROOT, "node_modules"), join(outDir, "node_modules"), "dir");
  const outfile = join(outDir, basename(entry).replace(/\.ts$/, ".mjs"));
  await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: ["libsql", "@libsql/*", "esbuild", "execa", "simple-git"],
    banner: { js: "import { createRequire as __cosRequire } from 'node:module'; const require = __cosRequire(import.meta.url);" },
    logLevel: "error",
  });
  return outfile;
}
