// One agent attempt (DESIGN §7): the run itself in agent/run.ts, and beside it what it is made of: the
// allowlisted environment, the process group that is stopped and reaped as a whole, the bounded tail of
// its output, the run folder with the prompt, result and log files, and the guards that keep an agent from
// outliving its runner.
export { agentEnvironment, BASE_ENV_NAMES, checkEnvironment, type AgentEnvironmentSpec } from "./agent/environment.ts";
export { readLogTail } from "./agent/output-tail.ts";
export { killProcessGroup, processGroupAlive } from "./agent/process-group.ts";
export { expandArgv, runAgent, type AgentRunResult, type AgentRunSpec } from "./agent/run.ts";
export { RunRecords, supervisedArgv } from "./agent/supervision.ts";
