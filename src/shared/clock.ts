import { ValidationError } from "./errors.ts";

/** The only source of "now" outside tests. Domain code never calls it: time comes in with commands. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** A clock frozen at `iso` (COS_NOW): every command of a process sees the same instant. */
export function fixedClock(iso: string): Clock {
  const at = parseInstant(iso, "COS_NOW");
  return () => new Date(at.getTime());
}

export function parseInstant(value: string, what: string): Date {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) {
    throw new ValidationError(`${what} must be an ISO-8601 time such as 2026-11-23T03:30:00Z, got "${value}"`);
  }
  return at;
}

/**
 * Time for waiting, beside the `Clock` that dates events: a monotonic reading and one-shot timers. Code
 * that waits (an agent's timeout, the resolver's log check) takes one, so a test can move it by hand
 * instead of sleeping.
 */
export interface Timers {
  /** Milliseconds on a monotonic clock: only differences mean anything. */
  now(): number;
  /** Calls `fire` once `ms` have passed; the function returned cancels it. */
  after(ms: number, fire: () => void): () => void;
}

export const systemTimers: Timers = {
  now: () => performance.now(),
  after: (ms, fire) => {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
};
