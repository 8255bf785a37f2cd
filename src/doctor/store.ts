import { accessSync, constants, existsSync } from "node:fs";
import { dirname } from "node:path";
import type { Env } from "../config/env.ts";
import { Database, storeFile } from "../store/db.ts";
import { schemaStatus } from "../store/migrate.ts";
import { fail, ok, warn, type Check } from "./check.ts";

// The store: reachable, and its schema the one this version of cos expects. Nothing is created or migrated:
// every other cos command applies the migrations it finds missing at start.

const REACH_TIMEOUT_MS = 10_000;

export async function checkStore(env: Env, cwd: string): Promise<Check> {
  const url = env.COS_DB_URL;
  const file = storeFile(url, cwd);
  if (file && !existsSync(file)) {
    const folder = nearestExisting(dirname(file));
    try {
      accessSync(folder, constants.W_OK);
      return ok("store", `${url}: no store yet; the first cos command creates ${file}`);
    } catch {
      return fail("store", `${url}: ${folder} is not writable, so the store cannot be created`, "point COS_DB_URL at a folder cos may write, or fix its permissions");
    }
  }
  let db: Database | null = null;
  try {
    const reached = (async () => {
      db = await Database.open({ url, authToken: env.COS_DB_AUTH_TOKEN, cwd });
      await db.query("SELECT 1");
      return schemaStatus(db);
    })();
    const status = await within(reached, REACH_TIMEOUT_MS, `no answer within ${REACH_TIMEOUT_MS / 1000} s`);
    if (status.unknown) {
      return fail(
        "store",
        `${url}: ${status.unknown} migration${status.unknown === 1 ? " was" : "s were"} applied by a newer cos than this one`,
        "run the cos version that manages this store (or upgrade this one)",
      );
    }
    if (status.pending) {
      return warn("store", `${url}: reachable; ${status.pending} of ${status.known} migrations not applied yet`, "the next cos command applies them (cos serve, or any other)");
    }
    return ok("store", `${url}: reachable, schema current (${status.known} migrations)`);
  } catch (error) {
    const remote = !file;
    return fail(
      "store",
      `${url}: cannot be reached (${firstLine(error)})`,
      remote ? "check COS_DB_URL and COS_DB_AUTH_TOKEN, and that the libSQL server is up" : "check COS_DB_URL and the file's permissions",
    );
  } finally {
    await (db as Database | null)?.close().catch(() => undefined);
  }
}

function nearestExisting(path: string): string {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

function within<T>(work: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n").find((l) => l.trim())?.trim() ?? message;
}
