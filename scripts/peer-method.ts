import type { AzureConnection } from "../src/azure/connection";
import { networkClient } from "../src/azure/arm-network";
import { azureGetter } from "../src/azure/http";
import { parseResourceId } from "../src/azure/resource-id";
import { listSubscriptions } from "../src/azure/subscription-inventory";
import { MemoryTenantCache } from "../src/azure/tenant-cache";
import { TenantResolver } from "../src/azure/tenants";
import { silentLogger } from "../src/log";
import { mapLimit } from "../src/map-limit";

/**
 * The peer's method, as the Azure Governance Visualizer runs it (FACTS.md, "Throttling, as
 * documented"): every subscription through ARM's list, then each subscription's VNets over ARM, one
 * list call per subscription, 10 in parallel (its default `-ThrottleLimit`), then
 * `GET /subscriptions/{id}` (the 401 names the tenant) for each remote subscription it does not
 * know. Run through `@azure/arm-network` against the same sandbox, under ARM's read limits.
 */
export const THROTTLE_LIMIT = 10;

export interface PeerMethodResult {
  wallSeconds: number;
  subscriptions: number;
  virtualNetworks: number;
  peerings: number;
  /** Remote subscriptions it had to ask ARM about. */
  lookups: number;
  crossTenantFound: number;
}

export async function governanceVisualizerMethod(connection: AzureConnection): Promise<PeerMethodResult> {
  const started = performance.now();
  const get = azureGetter(connection);
  const listed = await listSubscriptions(connection, get);
  const tenantOf = new Map(
    listed.map((s) => [s.subscriptionId.toLowerCase(), s.tenantId?.toLowerCase() ?? ""]),
  );
  // Per remote subscription, how many peerings point there from each local tenant.
  const remotes = new Map<string, Map<string, number>>();
  let virtualNetworks = 0;
  let peerings = 0;
  await mapLimit(listed, THROTTLE_LIMIT, async (s) => {
    const local = s.tenantId?.toLowerCase() ?? "";
    for await (const vnet of networkClient(connection, s.subscriptionId).virtualNetworks.listAll()) {
      virtualNetworks += 1;
      for (const peering of vnet.virtualNetworkPeerings ?? []) {
        peerings += 1;
        const remote =
          parseResourceId(peering.remoteVirtualNetwork?.id ?? "")?.subscriptionId.toLowerCase() ?? "";
        const from = remotes.get(remote) ?? new Map<string, number>();
        from.set(local, (from.get(local) ?? 0) + 1);
        remotes.set(remote, from);
      }
    }
  });
  const resolver = new TenantResolver({
    connection,
    get,
    cache: new MemoryTenantCache(3600_000),
    known: new Map(),
    namesFromGraph: false,
    log: silentLogger,
  });
  const unknown = [...remotes.keys()].filter((id) => id && !tenantOf.has(id));
  const looked = await mapLimit(unknown, THROTTLE_LIMIT, (id) => resolver.tenantOfSubscription(id));
  unknown.forEach((id, i) => tenantOf.set(id, looked[i] ?? ""));
  let crossTenantFound = 0;
  for (const [remote, from] of remotes) {
    const tenant = tenantOf.get(remote) ?? "";
    for (const [local, count] of from) if (tenant !== local) crossTenantFound += count;
  }
  return {
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    subscriptions: listed.length,
    virtualNetworks,
    peerings,
    lookups: unknown.length,
    crossTenantFound,
  };
}
