import { createHash } from "node:crypto";
import { parseEstate, type Estate } from "../src/sandbox/estate";
import { guid, vnetId } from "../test/helpers/estate-builder";

/**
 * The benchmark's estate, the same on every run: `landingZones` subscriptions of 10 spoke VNets
 * each; every spoke peered both ways with a regional hub of at most 500 peerings (499 spokes and
 * one foreign peering, last), each hub in its own platform subscription; 1% of spokes and every
 * hub also peered into one of 40 foreign tenants.
 *
 * Home subscriptions sit in a management-group hierarchy as the Cloud Adoption Framework lays it
 * out (each chain nearest first, under the tenant root group): hubs in `connectivity` under
 * `platform`; landing zone i in business unit `lz-bu-<floor(i / 2500)>` under `landingzones`.
 * Partner subscriptions, in their own tenants, have none.
 */
export const SPOKES_PER_SUBSCRIPTION = 10;
/** Landing zones per business-unit management group: each unit stays well under the 10,000 cut-off. */
export const SUBSCRIPTIONS_PER_BUSINESS_UNIT = 2500;
export const SPOKES_PER_HUB = 499;
export const FOREIGN_TENANTS = 40;

/**
 * A subscription id as Azure makes them: a random (version 4) GUID, here drawn from a hash of a
 * label so the estate is the same on every run. Counters would give every hub and foreign
 * subscription the same few leading and trailing digits, which no real estate has.
 */
export function subscriptionGuid(label: string): string {
  const h = createHash("sha256").update(label).digest("hex");
  const variant = "89ab"[Number.parseInt(h[16]!, 16) & 3];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface ScaleEstate {
  estate: Estate;
  subscriptions: number;
  virtualNetworks: number;
  peerings: number;
  /** Peerings to foreign tenants: what the scan must find, and all it should need to read. */
  crossTenant: number;
}

export function scaleEstate(landingZones: number): ScaleEstate {
  const home = guid(1, "b1");
  const tenants = [{ tenantId: home, displayName: "Contoso" }];
  const subscriptions: Record<string, unknown>[] = [];
  const resources: Record<string, unknown>[] = [];
  const foreignSubscription = (t: number) => subscriptionGuid(`partner-${t}`);
  for (let t = 0; t < FOREIGN_TENANTS; t++) {
    const tenantId = guid(100 + t, "b1");
    tenants.push({ tenantId, displayName: `Partner ${t + 1}` });
    subscriptions.push({ subscriptionId: foreignSubscription(t), tenantId, displayName: `partner-${t + 1}` });
  }
  const foreignRemote = (t: number, name: string) =>
    vnetId(foreignSubscription(t % FOREIGN_TENANTS), "partner-rg", name);

  const spokes = landingZones * SPOKES_PER_SUBSCRIPTION;
  const hubs = Math.ceil(spokes / SPOKES_PER_HUB);
  const hubSubscription = (h: number) => subscriptionGuid(`platform-${h}`);
  const hubId = (h: number) => vnetId(hubSubscription(h), "hub-rg", `hub-${h}`);
  const lzIds = Array.from({ length: landingZones }, (_, i) => subscriptionGuid(`lz-${i}`));
  const lzSubscription = (i: number) => lzIds[i]!;
  const spokeName = (s: number) => `spoke-${s}`;
  const spokeId = (s: number) =>
    vnetId(lzSubscription(Math.floor(s / SPOKES_PER_SUBSCRIPTION)), "spokes-rg", spokeName(s));
  const peering = (name: string, remote: string) => ({
    name,
    properties: {
      remoteVirtualNetwork: { id: remote },
      peeringState: "Connected",
      remoteAddressSpace: { addressPrefixes: ["10.0.0.0/24"] },
    },
  });
  const vnet = (subscriptionId: string, resourceGroup: string, name: string, peerings: unknown[]) => ({
    id: vnetId(subscriptionId, resourceGroup, name),
    name,
    type: "Microsoft.Network/virtualNetworks",
    subscriptionId,
    resourceGroup,
    location: "westeurope",
    tenantId: home,
    properties: { addressSpace: { addressPrefixes: ["10.0.0.0/16"] }, virtualNetworkPeerings: peerings },
  });

  let crossTenant = 0;
  let peerings = 0;
  for (let h = 0; h < hubs; h++) {
    subscriptions.push({
      subscriptionId: hubSubscription(h),
      tenantId: home,
      displayName: `platform-${h}`,
      managementGroups: ["connectivity", "platform"],
    });
    const first = h * SPOKES_PER_HUB;
    const list = [];
    for (let s = first; s < Math.min(first + SPOKES_PER_HUB, spokes); s++) {
      list.push(peering(`to-${spokeName(s)}`, spokeId(s)));
    }
    list.push(peering(`to-partner-hub-${h}`, foreignRemote(h, `partner-hub-${h}`)));
    crossTenant += 1;
    peerings += list.length;
    resources.push(vnet(hubSubscription(h), "hub-rg", `hub-${h}`, list));
  }
  for (let i = 0; i < landingZones; i++) {
    subscriptions.push({
      subscriptionId: lzSubscription(i),
      tenantId: home,
      displayName: `lz-${i}`,
      managementGroups: [`lz-bu-${Math.floor(i / SUBSCRIPTIONS_PER_BUSINESS_UNIT)}`, "landingzones"],
    });
    for (let k = 0; k < SPOKES_PER_SUBSCRIPTION; k++) {
      const s = i * SPOKES_PER_SUBSCRIPTION + k;
      const list = [peering("to-hub", hubId(Math.floor(s / SPOKES_PER_HUB)))];
      if (s % 100 === 0) {
        list.push(peering("to-partner", foreignRemote(s / 100, `partner-${s}`)));
        crossTenant += 1;
      }
      peerings += list.length;
      resources.push(vnet(lzSubscription(i), "spokes-rg", spokeName(s), list));
    }
  }
  const estate = parseEstate(
    { schemaVersion: 1, homeTenantId: home, tenants, subscriptions, resources },
    "scale estate",
  );
  return {
    estate,
    subscriptions: landingZones + hubs,
    virtualNetworks: spokes + hubs,
    peerings,
    crossTenant,
  };
}
