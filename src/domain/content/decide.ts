import { IllegalStateError, ValidationError } from "../../shared/errors.ts";
import { checkTitleText } from "../title.ts";
import { assertNever, type CommandMeta, type NewEvent } from "../events.ts";
import { CONTENT_STATUSES, type ContentEvent, type ContentFields, type ContentItemState } from "./content.ts";

export type ContentCommand =
  | { type: "CreateContentItem"; data: ContentFields & { itemId: number; project: string | null; taskId: number | null } }
  | { type: "UpdateContentItem"; data: { changes: Partial<ContentFields>; taskId: number | null } }
  | { type: "ReportSignal"; data: { metric: string; value: number; at: string; taskId: number | null } };

type Emitted = NewEvent<ContentEvent["type"], ContentEvent["data"]>;

const CHANNEL = /^[a-z0-9][a-z0-9._-]{0,39}$/;
const METRIC = /^[a-z][a-z0-9_.-]{0,39}$/;
const MAX_BODY = 100_000;
/** Clocks of agents and analytics sources drift a little; further ahead than this is a mistake. */
const FUTURE_SLACK_MS = 5 * 60_000;
const MAX_VALUE = 1e12;

/** The rules of a content item. Pure: the time comes in `meta`. */
export function decideContent(command: ContentCommand, state: ContentItemState | null, meta: CommandMeta): Emitted[] {
  switch (command.type) {
    case "CreateContentItem":
      if (state) throw new IllegalStateError(`content item #${state.id} already exists`);
      checkFields(command.data);
      return [{ type: "ContentItemCreated", data: command.data }];
    case "UpdateContentItem": {
      if (!state) throw new IllegalStateError("no such content item");
      checkFields(command.data.changes);
      const changes = Object.fromEntries(
        Object.entries(command.data.changes).filter(([key, value]) => value !== undefined && value !== state[key as keyof ContentFields]),
      ) as Partial<ContentFields>;
      if (Object.keys(changes).length === 0) return [];
      return [{ type: "ContentItemUpdated", data: { changes, taskId: command.data.taskId } }];
    }
    case "ReportSignal": {
      if (!state) throw new IllegalStateError("no such content item");
      const { metric, value, at } = command.data;
      if (!METRIC.test(metric)) {
        throw new ValidationError(`metric "${metric}" must be a short lower-case name such as views, likes, clicks or replies`);
      }
      if (!Number.isFinite(value) || Math.abs(value) > MAX_VALUE) throw new ValidationError(`value must be a finite number, got ${value}`);
      const observed = Date.parse(at);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(at) || Number.isNaN(observed)) {
        throw new ValidationError(`at must be an ISO-8601 time such as 2026-11-23T08:00:00Z, got "${at}"`);
      }
      if (observed > Date.parse(meta.at) + FUTURE_SLACK_MS) throw new ValidationError(`at ${at} is in the future`);
      return [{ type: "SignalReported", data: { ...command.data, at: new Date(observed).toISOString() } }];
    }
    default:
      return assertNever(command);
  }
}

function checkFields(fields: Partial<ContentFields>): void {
  const { title, channel, status, url, body } = fields;
  if (title !== undefined) {
    if (!title.trim()) throw new ValidationError("a content item needs a title");
    if (title.length > 200) throw new ValidationError("the title is longer than 200 characters");
    checkTitleText(title, "a content item's title");
  }
  if (channel !== undefined && !CHANNEL.test(channel)) {
    throw new ValidationError(`channel "${channel}" must be a short lower-case name such as blog, newsletter or x`);
  }
  if (status !== undefined && !CONTENT_STATUSES.includes(status)) {
    throw new ValidationError(`status must be one of ${CONTENT_STATUSES.join(", ")}, got "${status}"`);
  }
  if (url !== undefined && url !== null && (!/^https?:\/\/\S+$/.test(url) || url.length > 2000)) {
    throw new ValidationError(`url must be an http(s) address, got "${url.slice(0, 100)}"`);
  }
  if (body !== undefined && body.length > MAX_BODY) throw new ValidationError(`the body is longer than ${MAX_BODY} characters`);
}
