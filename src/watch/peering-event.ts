import { idKey } from "../azure/resource-id";
import { createHash } from "node:crypto";
import { z } from "zod";
import { vnetIdOf } from "../azure/arm-network";
import { cleanText, MAX_NAME_LENGTH } from "../text";
import { checkVnets, type Creator, type VnetCheckOptions, type VnetCheckResult } from "./vnet-check";

/** The subscription events that can change a peering (event-schema-subscriptions.md: ResourceWriteSuccess/ResourceDeleteSuccess). */
export const PEERING_EVENT_TYPES = [
  "Microsoft.Resources.ResourceWriteSuccess",
  "Microsoft.Resources.ResourceDeleteSuccess",
] as const;

const PEERING_OPERATIONS = new Set([
  "microsoft.network/virtualnetworks/write",
  "microsoft.network/virtualnetworks/delete",
  "microsoft.network/virtualnetworks/virtualnetworkpeerings/write",
  "microsoft.network/virtualnetworks/virtualnetworkpeerings/delete",
]);

/** What the trigger reads of an Event Grid event; the rest of it is ignored. */
export const subscriptionEventSchema = z.object({
  id: z.string().min(1),
  eventType: z.string(),
  subject: z.string(),
  eventTime: z.string(),
  data: z.looseObject({
    operationName: z.string(),
    authorization: z
      .looseObject({
        evidence: z.looseObject({ principalId: z.string().nullish() }).nullish(),
      })
      .nullish(),
  }),
});

export interface PeeringEvent {
  eventId: string;
  vnetId: string;
  /** Set for a peering write: who made it and when. */
  creator?: { peeringId: string } & Creator;
}

/** The VNet an event asks to re-check, or null when the event is not about VNets or peerings. */
export function peeringEventOf(raw: unknown): PeeringEvent | null {
  const parsed = subscriptionEventSchema.safeParse(raw);
  if (!parsed.success) return null;
  const event = parsed.data;
  const operation = idKey(event.data.operationName);
  if (
    !(PEERING_EVENT_TYPES as readonly string[]).includes(event.eventType) ||
    !PEERING_OPERATIONS.has(operation)
  )
    return null;
  const vnetId = vnetIdOf(event.subject);
  if (!vnetId) return null;
  const principalId = event.data.authorization?.evidence?.principalId;
  const creates =
    operation.endsWith("/virtualnetworkpeerings/write") && event.eventType.endsWith("ResourceWriteSuccess");
  return {
    eventId: event.id,
    vnetId,
    ...(creates && principalId
      ? {
          creator: {
            peeringId: event.subject,
            // Shown on cards: the principal id comes from outside like any other text.
            principalId: cleanText(principalId, MAX_NAME_LENGTH),
            at: event.eventTime,
          },
        }
      : {}),
  };
}

/**
 * The run id of an event's re-check. It goes into alert keys and logs, so it is derived by hashing
 * the event's id (outside text: any character, any length), never copied from it.
 */
export const eventScanId = (eventId: string): string =>
  `event-${createHash("sha256").update(eventId).digest("hex").slice(0, 32)}`;

/**
 * Handles one subscription event by re-reading its VNet from ARM, never by trusting the event's
 * order or count: a duplicate reconciles to no change, and a late event reads the present state.
 * A VNet that could not be read throws (after what was read is saved), so Event Grid delivers the
 * event again: the re-check is idempotent, and an event acknowledged unread is a change missed.
 */
export async function handlePeeringEvent(
  raw: unknown,
  options: Omit<VnetCheckOptions, "scanId" | "creators" | "ownAlertsOnly">,
): Promise<VnetCheckResult | null> {
  const event = peeringEventOf(raw);
  if (!event) return null;
  const creators = new Map<string, Creator>();
  if (event.creator)
    creators.set(idKey(event.creator.peeringId), {
      principalId: event.creator.principalId,
      at: event.creator.at,
    });
  const result = await checkVnets([event.vnetId], {
    ...options,
    scanId: eventScanId(event.eventId),
    creators,
    ownAlertsOnly: true,
  });
  if (result.failed.length > 0)
    throw new Error(
      `Event ${event.eventId} was not handled: ARM could not be read for ${result.failed
        .map((f) => `${f.vnetId} (${f.message})`)
        .join("; ")}. Event Grid delivers it again; the re-check is safe to repeat.`,
    );
  return result;
}
