import type { TSchema } from '@sinclair/typebox';

/**
 * The live feed in the OpenAPI document: the one place where its events are described.
 *
 * OpenAPI describes HTTP, so the feed appears as what it can hold: each event's payload as a
 * `webhooks` entry (what a webhook receiver is POSTed, and what a websocket frame carries), and the
 * websocket protocol as prose in the document's description. The feed's routes themselves (the
 * websocket upgrade, its ticket, webhook management) are ordinary rows of the route table with their
 * own schemas, like every other route.
 *
 * Add an event here with its payload schema (TypeBox, as in src/http/schemas/records.ts) when the code
 * that emits it lands; the document's test validates the webhooks section with everything else.
 */
export interface FeedEventDoc {
  /** The event's name as it appears in the frame or webhook body (e.g. `message.created`). */
  name: string;
  summary: string;
  description?: string;
  /** The JSON body a webhook receiver gets for this event. */
  payload: TSchema;
}

/** No feed in this build yet: the document has no webhooks section until events are listed here. */
export const FEED_EVENTS: readonly FeedEventDoc[] = [];

/** How to connect to the websocket feed (Markdown, appended to the document's description); null: none. */
export const FEED_DESCRIPTION: string | null = null;
