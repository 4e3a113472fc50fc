import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { loadConfig } from "../src/config";
import { sandboxConnection } from "../src/sandbox/connection";
import { startSandbox } from "../src/sandbox/server";
import { runRecordedScan } from "../src/scan/record-scan";
import { startAzurite } from "../src/store/azurite";
import { storageFromConnectionString } from "../src/store/storage";
import { crossTenantEstate } from "../test/helpers/estate-builder";

/**
 * `npm run benchmark:state`: table operations and wall time of a first scan and an unchanged
 * rescan of a 20,000-peering estate (sandbox + in-memory Azurite on this machine). The sandbox's
 * Resource Graph quota is raised so the numbers measure the scanner, not throttling waits.
 */
const PEERINGS = Number(process.env.BENCH_PEERINGS ?? 20_000);
async function benchmark(): Promise<void> {
  const counts = { reads: 0, writes: 0 };
  const counter: PipelinePolicy = {
    name: "count",
    sendRequest: (request, next) => {
      counts[request.method === "GET" ? "reads" : "writes"] += 1;
      return next(request);
    },
  };
  const e = crossTenantEstate(PEERINGS);
  const azurite = await startAzurite();
  const sandbox = await startSandbox({ estate: e, quota: { requests: 1000, windowMs: 5000 } });
  try {
    const storage = storageFromConnectionString(azurite.connectionString, "benchmark", {
      additionalPolicies: [{ policy: counter, position: "perCall" }],
    });
    const config = loadConfig({});
    for (const label of ["first scan", "unchanged rescan"]) {
      counts.reads = counts.writes = 0;
      const started = performance.now();
      const report = await runRecordedScan({
        connection: sandboxConnection(sandbox, e, config),
        config,
        storage,
        trigger: "cli",
        allowlist: [],
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(
        `${label}: ${report.stats.peerings} peerings, ${report.findings.length} findings, ` +
          `delta new=${report.delta!.new.length} changed=${report.delta!.changed.length}; ` +
          `table requests: ${counts.writes} writes (transactions count once), ${counts.reads} reads; ${seconds} s\n`,
      );
    }
  } finally {
    await sandbox.close();
    await azurite.stop();
  }
}

benchmark().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
