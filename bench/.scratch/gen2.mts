import { createClient } from "@libsql/client/sqlite3";
import { Database } from "../../src/store/db.ts";
import { migrate } from "../../src/store/migrate.ts";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
const file = "/tmp/benchexp/gen2.db";
const mode = process.argv[2];
for (const s of ["", "-wal", "-shm"]) rmSync(file + s, { force: true });
const db = await Database.open({ url: `file:${file}` }); await migrate(db); await db.close();
const c = createClient({ url: `file:${file}` });
for (const p of ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA cache_size = -262144"]) await c.execute(p);
const data = JSON.stringify({ attempt: 1, runner: null, leaseUntil: "2026-01-01T00:00:00.000Z", tier: "gate", isolation: "direct", promptHash: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789" });
const meta = JSON.stringify({ at: "2026-01-01T00:00:00.000Z", actor: "resolver", causation: null });
let seq = 0;
const id = () => mode !== "uuid" ? `0190${(seq++).toString(16).padStart(12, "0")}-7000-8000-000000000000` : randomUUID();
for (let k = 0; k < 10; k++) {
  const t = performance.now();
  const tx = await c.transaction("write");
  for (let b = 0; b < 20; b++) {
    const args: any[] = [];
    for (let i = 0; i < 5000; i++) { const n = k * 100000 + b * 5000 + i; args.push(id(), `task-${Math.floor(n / 10)}`, n % 10 + 1, "TaskDispatched", data, meta); }
    if (mode === "json") {
      const rows = []; for (let i = 0; i < args.length; i += 6) rows.push(args.slice(i, i + 6));
      await tx.execute({ sql: "INSERT INTO events (event_id, stream, version, type, data, meta) SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM json_each(?)", args: [JSON.stringify(rows)] });
    } else
    await tx.execute({ sql: `INSERT INTO events (event_id, stream, version, type, data, meta) VALUES ${Array(5000).fill("(?,?,?,?,?,?)").join(",")}`, args });
  }
  await tx.commit();
  console.log(mode, k, Math.round(performance.now() - t));
}
