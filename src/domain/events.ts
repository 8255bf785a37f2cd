/** What every aggregate's `evolve` sees: the event and when it happened. */
export interface EventEnvelope<T extends string = string, D = unknown> {
  type: T;
  data: D;
  at: string;
  /** The global log position, where the event is stored already (orders verdicts within one instant). */
  position?: number;
}

/** What `decide` returns: events without their metadata, which the command layer adds. */
export interface NewEvent<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

/** Who acted: `user:telegram:123`, `agent:builder`, `resolver`, `cli`. */
export type Actor = string;

/** Every command carries its time and actor: deciders never read a clock. */
export interface CommandMeta {
  at: string;
  actor: Actor;
}

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
