import { app, type EventGridEvent, type InvocationContext } from "@azure/functions";
import { handlePeeringEvent } from "../watch/peering-event";
import { contextLogger, runtime } from "./runtime";

/**
 * Seconds, for teams that deploy subscription system topics (infra/peering-events.bicep, after the publish):
 * each VNet or peering write or delete re-checks that VNet against ARM.
 */
export async function peeringEvents(event: EventGridEvent, context: InvocationContext): Promise<void> {
  const log = contextLogger(context);
  const { config, storage, connection } = runtime();
  const result = await handlePeeringEvent(event, { config, storage, connection, log });
  if (!result) log("debug", "event-ignored", { eventType: event.eventType, subject: event.subject });
}

app.eventGrid("peeringEvents", { handler: peeringEvents });
