import { describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { azureGetter } from "../../src/azure/http";
import { loadConfig } from "../../src/config";
import { LIGHTHOUSE_TABLE_QUERY, lighthouseTableCheck } from "../../src/doctor/lighthouse-table";
import { managementGroupTreeCheck } from "../../src/doctor/management-group-tree";
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

describe("doctor: the management group tree a scan past the cut-off asks by", () => {
  async function treeProbe(options: Omit<SandboxOptions, "estate"> = {}, env: Record<string, string> = {}) {
    const estate = await readEstateFile(ESTATE);
    const sandbox = await startSandbox({ ...options, estate });
    try {
      const connection = sandboxConnection(sandbox, estate, config);
      const settings = loadConfig({ AZURE_MAX_RETRIES: "0", ...env });
      return await managementGroupTreeCheck({
        connection,
        config: settings,
        get: azureGetter(connection),
        identity: await identityOf(connection),
        scope: scopeOf(settings),
      });
    } finally {
      await sandbox.close();
    }
  }

  it("ok when Azure Resource Manager answers the tree under the tenant root group", async () => {
    expect(await treeProbe()).toMatchObject({ id: "management-group-tree", status: "ok", fix: "" });
  });

  it("warns, with the Reader assignment that fixes it, when the identity may not read it", async () => {
    const check = await treeProbe({ managementGroupsReadable: false });
    expect(check.status).toBe("warn");
    expect(check.detail).toMatch(/403.*only past .*cut-off: scans stay complete/);
    expect(check.fix).toMatch(
      /--role Reader --scope \/providers\/Microsoft.Management\/managementGroups\/5f1e4c2a/,
    );
  });

  it("is not asked when the scan never uses it", async () => {
    const check = await treeProbe({ managementGroupsReadable: false }, { MANAGEMENT_GROUP_SCOPE_LIMIT: "0" });
    expect(check).toMatchObject({
      status: "ok",
      detail: expect.stringContaining("MANAGEMENT_GROUP_SCOPE_LIMIT is 0"),
    });
  });
});
