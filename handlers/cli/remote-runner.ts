import { hostname } from "node:os";
import { loadConfig } from "../../src/config/config.ts";
import { parseEnv } from "../../src/config/env.ts";
import { fixedClock, systemClock } from "../../src/shared/clock.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { dataDirOf } from "../../src/shared/run-folder.ts";
import { Runner } from "../../runner/runner.ts";
import { httpPort } from "../../runner/port.ts";
import { runnerNameInToken } from "../../src/app/runner-tokens.ts";
import { runnerSandbox } from "./local-runner.ts";
import { parseInteger } from "./args.ts";
import type { CliIo } from "./io.ts";

/**
 * `cos runner --server URL --token T`: a runner on another machine. It needs no store, only the
 * server's HTTP API and its own cos.config.json for the agents and project paths on this machine.
 */
export async function runRemote(values: Record<string, string | boolean | undefined>, io: CliIo): Promise<number> {
  const env = parseEnv(io.env);
  const server = typeof values.server === "string" ? values.server : undefined;
  const token = typeof values.token === "string" ? values.token : env.COS_RUNNER_TOKEN;
  if (!server || !/^https?:\/\//.test(server)) throw new ValidationError("give the server with --server http(s)://host:port");
  if (!token) throw new ValidationError("give the runner token with --token T (or COS_RUNNER_TOKEN)");
  const { config, path: configFile } = loadConfig(env.COS_CONFIG, io.cwd);
  const slots = typeof values.slots === "string" ? parseInteger(values.slots, "--slots") : config.runner.slots;
  if (slots < 1 || slots > 64) throw new ValidationError("--slots must be from 1 to 64");
  const labels = typeof values.labels === "string" ? values.labels.split(",").map((l) => l.trim()).filter(Boolean) : config.runner.labels;
  // A per-runner token names its runner: that is the id, and another is refused here rather than by the server.
  const bound = runnerNameInToken(token);
  if (bound !== null && typeof values.id === "string" && values.id !== bound) {
    throw new ValidationError(`this token belongs to runner ${bound}; drop --id or give --id ${bound}`);
  }
  const id = typeof values.id === "string" ? values.id : (bound ?? `${hostname()}-${process.pid}`);
  const sandbox = await runnerSandbox(config, env, io, configFile);
  const runner = new Runner(httpPort(server, token), {
    id,
    slots,
    labels,
    config,
    dataDir: dataDirOf(config),
    sourceEnv: io.env,
    clock: env.COS_NOW ? fixedClock(env.COS_NOW) : systemClock,
    log: (line) => io.err(line),
    mcpUrl: `${server.replace(/\/+$/, "")}/mcp`,
    sandbox,
  });
  io.out(`cos runner ${id}: ${slots} slot${slots === 1 ? "" : "s"}${labels.length ? `, labels ${labels.join(",")}` : ""}, serving ${server}`);
  runner.start();
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await runner.stop();
  return 0;
}
