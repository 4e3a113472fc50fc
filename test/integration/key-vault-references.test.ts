import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { InvocationContext, type Timer } from "@azure/functions";
import { ALERTS_QUEUE, POISON_QUEUE } from "../../src/alerts/emit";
import { alertMessageSchema } from "../../src/findings/alert-message";
import { loadConfig, unresolvedSecrets } from "../../src/config";
import { keyVaultReferencesCheck } from "../../src/doctor/key-vault-references";
import { alertDispatcher } from "../../src/functions/alert-dispatcher";
import { peeringChanges } from "../../src/functions/peering-changes";
import { peeringEvents } from "../../src/functions/peering-events";
import { useRuntime } from "../../src/functions/runtime";
import { scheduledScan } from "../../src/functions/scheduled-scan";
import { sandboxConnection } from "../../src/sandbox/connection";
import { drainQueue } from "../../src/sandbox/queue-host";
import { startSandbox, type RunningSandbox } from "../../src/sandbox/server";
import { startWebhookSink, type RunningSink } from "../../src/sandbox/webhook-sink";
import { ScanRunsStore } from "../../src/store/scan-runs";
import { testStorage, type TestStorage } from "../helpers/azurite";
import { CROSS_TENANT, crossTenantEstate, vnetId } from "../helpers/estate-builder";
import { HOST_LIKE_DRAIN, TEST_QUOTA } from "../helpers/sandbox";

/**
 * App Service could not resolve the Key Vault reference of TEAMS_WEBHOOK_URL (the identity's role
 * not applied yet, the secret missing): the setting reaches the app as the reference text. Only
 * Teams is off; the timer scan, the change poller, Event Grid and the generic webhook keep working,
 * and they say so loudly.
 */
const REFERENCE =
  "@Microsoft.KeyVault(SecretUri=https://ctscankvq3xv7k2lmb4de.vault.azure.net/secrets/teams-webhook-url)";
const estate = crossTenantEstate(2);
const VNET = vnetId(CROSS_TENANT.homeSubscription, "rg", "vnet-0");

let state: TestStorage;
let sink: RunningSink;
let sandbox: RunningSandbox;
let env: Record<string, string>;
let logs: { level: string; entry: Record<string, unknown> }[];

const context = (functionName: string) =>
  new InvocationContext({
    functionName,
    logHandler: (level, ...args) => logs.push({ level, entry: args[0] as Record<string, unknown> }),
  });
const timer: Timer = {
  schedule: { adjustForDST: true },
  isPastDue: false,
  scheduleStatus: {
    last: "2026-11-29T09:00:00Z",
    next: "2026-11-29T10:00:00Z",
    lastUpdated: "2026-11-29T09:00:00Z",
  },
};

beforeAll(async () => {
  state = await testStorage();
  sink = await startWebhookSink(() => ({ status: 202 }));
  sandbox = await startSandbox({ estate, quota: TEST_QUOTA });
  env = {
    AzureWebJobsStorage: state.azurite.connectionString,
    TEAMS_WEBHOOK_URL: REFERENCE,
    WEBHOOK_URL: `${sink.url}/webhook`,
    WEBHOOK_SECRET: "signing-key",
    ALERT_ALLOWED_HOSTS: "127.0.0.1",
    // The local sink listens on 127.0.0.1, which the send-time guard refuses otherwise.
    ALERT_ALLOW_PRIVATE_ADDRESSES: "true",
    AZURE_MAX_RETRIES: "1",
  };
  // What runtime() builds from the app settings, with the sandbox for Azure.
  const config = loadConfig(env);
  useRuntime({
    config,
    storage: state.storage,
    connection: {
      ...sandboxConnection(sandbox, estate, config),
      retryOptions: { maxRetries: 1, retryDelayInMs: 10 },
    },
    agent: sink.agent,
    unresolvedSecrets: unresolvedSecrets(env),
  });
  logs = [];
});
afterAll(async () => {
  useRuntime(undefined);
  await sandbox.close();
  await sink.close();
  await state.stop();
});

/** Runs the alerts queue through the registered alertDispatcher, as the host does. */
const dispatch = async () =>
  drainQueue(
    await state.storage.queue(ALERTS_QUEUE),
    await state.storage.queue(POISON_QUEUE),
    (message) => alertDispatcher(message, context("alertDispatcher")),
    HOST_LIKE_DRAIN,
  );

const delivered = () =>
  sink.received.map((p) => ({ path: p.path, alert: alertMessageSchema.parse(JSON.parse(p.body)) }));

describe("an unresolved Key Vault reference for the Teams URL", () => {
  it("the timer scan still runs, logs an error naming the setting, and alerts that Teams is off", async () => {
    await scheduledScan(timer, context("scheduledScan"));
    const [run] = await new ScanRunsStore(state.storage).latest(1);
    expect(run).toMatchObject({ trigger: "timer", complete: true, deltaCounts: { new: 2 } });
    const error = logs.find((l) => l.entry.event === "key-vault-reference-unresolved");
    expect(error).toMatchObject({
      level: "error",
      entry: { settings: ["TEAMS_WEBHOOK_URL"], destinationsOff: ["teams"] },
    });
    expect(JSON.stringify(logs)).not.toContain("vault.azure.net");
  });

  it("the generic webhook receives the findings and the scan-degraded alert; nothing goes anywhere else", async () => {
    expect(await dispatch()).toEqual({ handled: 3, failures: 0, poisoned: 0 });
    const alerts = delivered();
    expect(alerts.map((a) => a.path)).toEqual(["/webhook", "/webhook", "/webhook"]);
    expect(alerts.map((a) => a.alert.kind).sort()).toEqual([
      "scan-degraded",
      "violation-new",
      "violation-new",
    ]);
    const degraded = alerts.find((a) => a.alert.kind === "scan-degraded")!.alert;
    expect(degraded.title).toBe(
      "Alerts to Teams are off: the Key Vault reference of TEAMS_WEBHOOK_URL was not resolved.",
    );
    expect(degraded.severity).toBe("high");
    expect(degraded.scan?.errors[0]?.message).toMatch(/configreferences\/appsettings\/refresh/);
    // Signed as usual: the webhook's own secret resolved.
    expect(sink.received[0]!.headers["x-signature-256"]).toMatch(/^sha256=/);
  });

  it("the next timer scan says it again, but the webhook hears of it once a day", async () => {
    await scheduledScan(timer, context("scheduledScan"));
    expect(await dispatch()).toEqual({ handled: 1, failures: 0, poisoned: 0 });
    expect(delivered().filter((a) => a.alert.kind === "scan-degraded")).toHaveLength(1);
  });

  it("the change poller and the Event Grid handler still run", async () => {
    logs = [];
    await peeringChanges(timer, context("peeringChanges"));
    expect(logs.map((l) => l.entry.event)).toContain("change-poll-finished");
    await peeringEvents(
      {
        id: "e-1",
        topic: `/subscriptions/${CROSS_TENANT.homeSubscription}`,
        subject: `${VNET}/virtualNetworkPeerings/to-foreign-0`,
        eventType: "Microsoft.Resources.ResourceWriteSuccess",
        eventTime: new Date().toISOString(),
        data: {
          operationName: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
          status: "Succeeded",
        },
        dataVersion: "",
        metadataVersion: "1",
      },
      context("peeringEvents"),
    );
    expect(logs.map((l) => l.entry.event)).toContain("vnets-checked");
    expect(
      logs.filter((l) => l.level === "error" && l.entry.event !== "key-vault-reference-unresolved"),
    ).toEqual([]);
  });

  it("doctor names the setting and the documented refresh; ok once it resolved", async () => {
    const check = await keyVaultReferencesCheck({
      ...env,
      WEBSITE_SITE_NAME: "ctscan-func-q3xv7k2lmb4de",
      WEBSITE_RESOURCE_GROUP: "rg-cross-tenant-scanner",
      WEBSITE_OWNER_NAME:
        "00000000-0000-0000-0000-000000000001+rg-cross-tenant-scanner-WestEuropewebspace-Linux",
    });
    expect(check).toMatchObject({ id: "key-vault-references", status: "fail" });
    expect(check.detail).toContain("TEAMS_WEBHOOK_URL");
    expect(check.detail).toContain("Alerts to Teams are off");
    expect(check.detail).not.toContain("vault.azure.net");
    expect(check.fix).toContain(
      "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-cross-tenant-scanner/providers/Microsoft.Web/sites/ctscan-func-q3xv7k2lmb4de/config/configreferences/appsettings/refresh?api-version=2022-03-01",
    );
    // Flex Consumption: no WEBSITE_RESOURCE_GROUP, and an owner name without the group.
    const flex = await keyVaultReferencesCheck({
      ...env,
      WEBSITE_SITE_NAME: "ctscan-func-q3xv7k2lmb4de",
      WEBSITE_OWNER_NAME: "00000000-0000-0000-0000-000000000001+flex-6a3c0f2b-webspace",
    });
    expect(flex.fix).toContain(
      'APP_ID=$(az resource list --subscription 00000000-0000-0000-0000-000000000001 --name ctscan-func-q3xv7k2lmb4de --resource-type Microsoft.Web/sites --query "[0].id" -o tsv); az rest --method post --url "https://management.azure.com$APP_ID/config/configreferences/appsettings/refresh?api-version=2022-03-01"',
    );
    expect(
      await keyVaultReferencesCheck({ ...env, TEAMS_WEBHOOK_URL: "https://contoso.webhook.office.com/x" }),
    ).toEqual({
      id: "key-vault-references",
      status: "ok",
      detail: expect.any(String),
      fix: "",
    });
  });
});
