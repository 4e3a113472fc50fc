import { startSandbox } from "../src/sandbox/server";
import { scaleEstate } from "./scale-estate";

/**
 * The benchmark's sandbox, in its own process so that the scanning process's memory and CPU are
 * its own. Started by scripts/benchmark-scale.ts with the number of landing-zone subscriptions;
 * answers "counters" and "close" messages over the IPC channel. Default Resource Graph quota.
 */
async function main(): Promise<void> {
  const landingZones = Number(process.argv[2]);
  const scale = scaleEstate(landingZones);
  const sandbox = await startSandbox({ estate: scale.estate });
  process.on("message", (message: { type: string }) => {
    if (message.type === "counters")
      process.send!({
        type: "counters",
        counters: {
          ...sandbox.counters,
          peeringReads: sandbox.network.counters.peeringReads,
          vnetListRequests: sandbox.network.counters.vnetListRequests,
          armThrottled: sandbox.network.counters.armThrottled + sandbox.counters.armThrottled,
        },
      });
    if (message.type === "close") void sandbox.close().then(() => process.exit(0));
  });
  // Stop with the parent, whatever happens to it.
  process.on("disconnect", () => void sandbox.close().then(() => process.exit(0)));
  process.send!({
    type: "ready",
    url: sandbox.url,
    ca: sandbox.ca,
    homeTenantId: scale.estate.homeTenantId,
    estate: {
      subscriptions: scale.subscriptions,
      virtualNetworks: scale.virtualNetworks,
      peerings: scale.peerings,
      crossTenant: scale.crossTenant,
    },
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
