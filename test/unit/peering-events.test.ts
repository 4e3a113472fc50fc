import { describe, expect, it } from "@jest/globals";
import { peeringEventOf } from "../../src/watch/peering-event";

const VNET = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/spoke";

/** A subscription system topic's event as Event Grid delivers it (Event Grid schema). */
const event = (
  eventType: string,
  operationName: string,
  subject: string,
  principalId: string | null = "p-1",
) => ({
  id: "e-1",
  topic: "/subscriptions/s1",
  subject,
  eventType,
  eventTime: "2026-11-29T21:00:00Z",
  data: { operationName, authorization: { evidence: { principalId } }, status: "Succeeded" },
  dataVersion: "",
  metadataVersion: "1",
});

describe("which subscription events re-check a VNet", () => {
  it("a peering write names its VNet and who created it, and when", () => {
    expect(
      peeringEventOf(
        event(
          "Microsoft.Resources.ResourceWriteSuccess",
          "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
          `${VNET}/virtualNetworkPeerings/to-x`,
        ),
      ),
    ).toEqual({
      eventId: "e-1",
      vnetId: VNET,
      creator: {
        peeringId: `${VNET}/virtualNetworkPeerings/to-x`,
        principalId: "p-1",
        at: "2026-11-29T21:00:00Z",
      },
    });
  });

  it("a VNet delete re-checks the VNet and names no creator", () => {
    expect(
      peeringEventOf(
        event("Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Network/virtualNetworks/delete", VNET),
      ),
    ).toEqual({ eventId: "e-1", vnetId: VNET });
  });

  it("ignores other operations, failed writes and events that are not subscription events", () => {
    expect(
      peeringEventOf(
        event("Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Storage/storageAccounts/write", VNET),
      ),
    ).toBeNull();
    expect(
      peeringEventOf(
        event("Microsoft.Resources.ResourceWriteFailure", "Microsoft.Network/virtualNetworks/write", VNET),
      ),
    ).toBeNull();
    expect(peeringEventOf({ hello: "world" })).toBeNull();
  });
});
