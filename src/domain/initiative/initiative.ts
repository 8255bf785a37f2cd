import { assertNever, type EventEnvelope, type NewEvent } from "../events.ts";
import { decideCreation } from "../goal/goal.ts";

export interface InitiativeState {
  id: number;
  goalId: number;
  title: string;
  success: string | null;
  createdAt: string;
}

export type InitiativeEvent = EventEnvelope<
  "InitiativeCreated",
  { initiativeId: number; goalId: number; title: string; success: string | null }
>;

export type InitiativeCommand = { type: "CreateInitiative"; data: InitiativeEvent["data"] };

export function initiativeStream(id: number): string {
  return `initiative-${id}`;
}

export function decideInitiative(
  command: InitiativeCommand,
  state: InitiativeState | null,
): NewEvent<InitiativeEvent["type"], InitiativeEvent["data"]>[] {
  switch (command.type) {
    case "CreateInitiative":
      return decideCreation("initiative", state, "InitiativeCreated", command.data);
    default:
      return assertNever(command.type);
  }
}

export function evolveInitiative(_state: InitiativeState | null, event: InitiativeEvent): InitiativeState {
  switch (event.type) {
    case "InitiativeCreated": {
      const { initiativeId, goalId, title, success } = event.data;
      return { id: initiativeId, goalId, title, success, createdAt: event.at };
    }
    default:
      return assertNever(event.type);
  }
}
