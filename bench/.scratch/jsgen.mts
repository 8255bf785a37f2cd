import { lifecycleRows, nearbyBlockers } from "../fixtures.ts";
let t = performance.now(); let n = 0;
for (const r of lifecycleRows(1, 100000, (id) => nearbyBlockers(id, id % 3))) n++;
console.log("js gen only", n, Math.round(performance.now() - t));
