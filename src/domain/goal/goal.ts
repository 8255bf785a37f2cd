import { IllegalStateError, ValidationError } from "../../shared/errors.ts";
import { checkTitleText } from "../title.ts";
import { assertNever, type EventEnvelope, type NewEvent } from "../events.ts";

export interface GoalState {
  id: number;
  title: string;
  success: string | null;
  project: string | null;
  createdAt: string;
}

export type GoalEvent = EventEnvelope<
  "GoalCreated",
  { goalId: number; title: string; success: string | null; project: string | null }
>;

export type GoalCommand = { type: "CreateGoal"; data: GoalEvent["data"] };

export function goalStream(id: number): string {
  return `goal-${id}`;
}

export function decideGoal(command: GoalCommand, state: GoalState | null): NewEvent<GoalEvent["type"], GoalEvent["data"]>[] {
  switch (command.type) {
    case "CreateGoal":
      return decideCreation("goal", state, "GoalCreated", command.data);
    default:
      return assertNever(command.type);
  }
}

export function evolveGoal(_state: GoalState | null, event: GoalEvent): GoalState {
  switch (event.type) {
    case "GoalCreated": {
      const { goalId, title, success, project } = event.data;
      return { id: goalId, title, success, project, createdAt: event.at };
    }
    default:
      return assertNever(event.type);
  }
}

/** Shared by goals and initiatives: each is created once, with its title and success line checked. */
export function decideCreation<Type extends string, Data extends { title: string; success: string | null }>(
  what: string,
  state: { id: number } | null,
  type: Type,
  data: Data,
): NewEvent<Type, Data>[] {
  if (state) throw new IllegalStateError(`${what} ${state.id} already exists`);
  checkTitleAndSuccess(what, data.title, data.success);
  return [{ type, data }];
}

/** Shared by goals and initiatives: a title, and a success description that is one line. */
export function checkTitleAndSuccess(what: string, title: string, success: string | null): void {
  if (!title.trim()) throw new ValidationError(`${/^[aeiou]/.test(what) ? "an" : "a"} ${what} needs a title`);
  if (title.length > 200) throw new ValidationError(`the ${what} title is longer than 200 characters`);
  checkTitleText(title, `the ${what}'s title`);
  if (success !== null && /[\r\n]/.test(success)) {
    throw new ValidationError(`the ${what}'s success description must be one line`);
  }
  if (success !== null && success.length > 500) {
    throw new ValidationError(`the ${what}'s success description is longer than 500 characters`);
  }
}
