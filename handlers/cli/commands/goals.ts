import { createGoal, createInitiative } from "../../../src/app/goals.ts";
import { listGoals, listInitiatives } from "../../../src/app/views.ts";
import { ValidationError } from "../../../src/shared/errors.ts";
import { parseId, str, title } from "../args.ts";
import { ACTOR, listCommand, storeCommand } from "../command.ts";
import { renderGoals, renderInitiatives, renderNewId } from "../render.ts";

// Goals and their initiatives: what tasks are for (DESIGN §6, goal context).

export const goalAdd = storeCommand({
  positional: true,
  usage: 'cos goal add "<title>" [--success "<line>"] [--project P]',
  options: { success: { type: "string" }, project: { type: "string" } },
  run: async (ctx, { values, positionals }) => ({
    id: await createGoal(ctx, { title: title(positionals, "goal"), success: str(values, "success"), project: str(values, "project") }, ACTOR),
  }),
  text: renderNewId,
});

export const goalList = listCommand("cos goal list", listGoals, renderGoals);

export const initiativeAdd = storeCommand({
  positional: true,
  usage: 'cos initiative add "<title>" --goal ID [--success "<line>"]',
  options: { goal: { type: "string" }, success: { type: "string" } },
  run: async (ctx, { values, positionals }) => {
    const goal = str(values, "goal");
    if (goal === undefined) throw new ValidationError("an initiative needs --goal ID (see cos goal list)");
    return {
      id: await createInitiative(ctx, { title: title(positionals, "initiative"), goalId: parseId(goal, "goal"), success: str(values, "success") }, ACTOR),
    };
  },
  text: renderNewId,
});

export const initiativeList = listCommand("cos initiative list", listInitiatives, renderInitiatives);
