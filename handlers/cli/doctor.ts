import { loadConfig, type LoadedConfig } from "../../src/config/config.ts";
import { parseEnv, type Env } from "../../src/config/env.ts";
import { checkChat } from "../../src/doctor/chat.ts";
import { broken, fail, renderReport, type Check } from "../../src/doctor/check.ts";
import { checkConfig } from "../../src/doctor/config.ts";
import { checkStore, firstLine } from "../../src/doctor/store.ts";
import { checkAgents } from "../../runner/doctor/agents.ts";
import { checkSandbox } from "../../runner/doctor/sandbox.ts";
import type { CliIo } from "./io.ts";

/** `cos doctor`: every check, one line each; exit 1 when one is broken. */
export async function runDoctor(json: boolean, io: CliIo): Promise<number> {
  const checks: Check[] = [];
  let env: Env | null = null;
  try {
    env = parseEnv(io.env);
  } catch (error) {
    checks.push(fail("environment", firstLine(error), "fix the variable in .env or the environment (.env.example says what each one takes)"));
  }
  let loaded: LoadedConfig | null = null;
  try {
    loaded = loadConfig(env?.COS_CONFIG ?? io.env.COS_CONFIG, io.cwd);
    checks.push(...checkConfig(loaded));
  } catch (error) {
    checks.push(fail("config", firstLine(error), "fix that field; the agents are checked once the file loads"));
  }
  const [store, agents, sandbox, chat] = await Promise.all([
    env ? checkStore(env, io.cwd) : null,
    loaded ? checkAgents(loaded.config, io.env) : [],
    checkSandbox(io.env.PATH, loaded?.config.runner.sandbox),
    env ? checkChat(env) : [],
  ]);
  if (store) checks.push(store);
  checks.push(...agents, ...sandbox, ...chat);
  io.out(json ? JSON.stringify({ ok: broken(checks) === 0, checks }, null, 2) : renderReport(checks));
  return broken(checks) ? 1 : 0;
}
