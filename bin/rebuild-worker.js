// The entry of a rebuild's worker thread (src/store/rebuild.ts starts it): like bin/cos.js, it runs the
// TypeScript sources bundled by bin/build.js, so it works the same from the sources and from a dist build.
import { ensureBuild } from "./build.js";

await import(await ensureBuild("src/store/rebuild-worker.ts"));
