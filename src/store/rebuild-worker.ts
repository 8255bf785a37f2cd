// A worker thread of a rebuild (src/store/rebuild.ts): reads its range of the log's streams on a
// connection of its own, folds it and sends the projection rows to the rebuilding thread, which writes
// them. It starts after that thread holds the write lock, so no event can be appended while it reads.
import { parentPort, workerData } from "node:worker_threads";
import { CosError } from "../shared/errors.ts";
import { Database } from "./db.ts";
import { foldRange, type Folded, type RowBatch } from "./fold.ts";
import type { RebuildWorkerData, WorkerMessage } from "./rebuild.ts";

const port = parentPort;
if (!port) throw new Error("src/store/rebuild-worker.ts runs as a worker thread of a rebuild");
const { url, range, pageSize, batchRows, batchesAhead } = workerData as RebuildWorkerData;

let unacknowledged = 0;
let wake: (() => void) | null = null;
port.on("message", () => {
  unacknowledged--;
  wake?.();
});
const send = (message: WorkerMessage) => port.postMessage(message);

try {
  const { events, streams } = await fold();
  send({ kind: "done", events, streams });
} catch (error) {
  send({ kind: "failed", code: error instanceof CosError ? error.code : null, message: error instanceof Error ? error.message : String(error) });
}

async function fold(): Promise<Folded> {
  const db = await Database.open({ url });
  try {
    return await db.read((tx) =>
      foldRange(
        tx,
        range,
        { pageSize, batchRows },
        (batch: RowBatch) => {
          unacknowledged++;
          send({ kind: "rows", batch });
        },
        async () => {
          while (unacknowledged > batchesAhead) await new Promise<void>((done) => (wake = done));
        },
      ),
    );
  } finally {
    await db.close();
  }
}
