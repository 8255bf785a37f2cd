import type { PromptInput } from "../../src/prompt/build.ts";

/** A dispatch prompt's input for one task with nothing around it (no feedback, goal, prerequisites, siblings, skills or signals) but `overrides`. */
export function promptInput(task: PromptInput["task"], overrides: Partial<PromptInput> = {}): PromptInput {
  return { task, feedback: null, goal: null, initiative: null, prerequisites: [], siblings: [], skills: [], signals: [], ...overrides };
}
