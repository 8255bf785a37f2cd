import type { StandaloneCommand } from "../command.ts";

// What a new user runs after configuring: is everything in place for a night of agent runs?

export const doctor: StandaloneCommand = {
  usage: "cos doctor   (each agent's CLI, version, flags, credentials and MCP wiring; the sandbox; the store; Telegram and Slack; the config)",
  options: {},
  standalone: async ({ values }, io) => (await import("../doctor.ts")).runDoctor(values.json === true, io),
};
