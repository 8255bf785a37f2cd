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
