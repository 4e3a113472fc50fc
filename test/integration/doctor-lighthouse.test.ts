import { describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { azureGetter } from "../../src/azure/http";
import { loadConfig } from "../../src/config";
import { LIGHTHOUSE_TABLE_QUERY, lighthouseTableCheck } from "../../src/doctor/lighthouse-table";
import { identityOf } from "../../src/doctor/probes";
import { sandboxConnection } from "../../src/sandbox/connection";
import { readEstateFile } from "../../src/sandbox/estate";
import { startSandbox, type SandboxOptions } from "../../src/sandbox/server";
import { scopeOf } from "../../src/scan/run-scan";

const ESTATE = join(__dirname, "../../../examples/estates/two-tenants.json");
const config = loadConfig({ AZURE_MAX_RETRIES: "0" });

async function probe(options: Omit<SandboxOptions, "estate"> = {}) {
  const estate = await readEstateFile(ESTATE);
  const sandbox = await startSandbox({ ...options, estate });
  try {
    const connection = sandboxConnection(sandbox, estate, config);
    return await lighthouseTableCheck({
      connection,
      config,
      get: azureGetter(connection),
      identity: await identityOf(connection),
      scope: scopeOf(config),
    });
  } finally {
    await sandbox.close();
  }
}

describe("doctor: the table Lighthouse delegations are read from", () => {
  it("ok, with the count of registration assignments, when Resource Graph answers managedserviceresources", async () => {
    expect(await probe()).toEqual({
      id: "lighthouse-delegations",
      status: "ok",
      detail: expect.stringContaining("1 Lighthouse registration assignment(s)"),
      fix: "",
    });
  });

  it("fails, naming what a scan would miss and the Reader grant, when Resource Graph refuses it", async () => {
    const check = await probe({
      resourceGraphFault: (_n, query) =>
        query === LIGHTHOUSE_TABLE_QUERY ? { status: 403, message: "Not allowed." } : undefined,
    });
    expect(check.status).toBe("fail");
    expect(check.detail).toMatch(/HTTP 403.*would not be judged/);
    expect(check.fix).toMatch(/^az role assignment create --assignee \S+ --role Reader/);
  });
});
