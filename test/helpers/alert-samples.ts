import { destinationsOffAlert } from "../../src/alerts/destinations-off";
import {
  bySeverity,
  type AlertKind,
  type AlertMessage,
  type FindingAlert,
} from "../../src/findings/alert-message";

type PeeringAlert = Extract<FindingAlert, { kind: "vnet-peering" }>;

/**
 * Sample alerts shaped like the ones the scan emits, built around the write-up's peering
 * `TenantB2TenantA` from Contoso's `vnet-demo-test` to Tenant A's `demo-vnet`. Shared by the card
 * tests and `scripts/render-cards.ts`, so the pictures in docs/ show what the tests check.
 */

export const PORTAL_URL = "https://portal.azure.com";
export const SCAN_ID = "20261129T060000Z-4f9c2a";
const CREATED_AT = "2026-11-29T06:02:41.512Z";

export const CONTOSO_TENANT = "5f1e4c2a-7b3d-4e8f-9a6b-2c1d0e9f8a7b";
export const TENANT_A = "31ca78c2-d833-433a-9977-88e160bd4ac0";
const LOCAL_SUBSCRIPTION = "31bdf544-8e8e-4f5b-bb31-3316a05e5581";
const REMOTE_SUBSCRIPTION = "8655f4d3-0bb1-4be0-b73c-6a8f3b304cf6";
export const LOCAL_VNET_ID = `/subscriptions/${LOCAL_SUBSCRIPTION}/resourceGroups/demo-test-rg/providers/Microsoft.Network/virtualNetworks/vnet-demo-test`;
const REMOTE_VNET_ID = `/subscriptions/${REMOTE_SUBSCRIPTION}/resourceGroups/demo-rg/providers/Microsoft.Network/virtualNetworks/demo-vnet`;
const PEERING_ID = `${LOCAL_VNET_ID}/virtualNetworkPeerings/TenantB2TenantA`;

export function demoFinding(over: Partial<PeeringAlert> = {}): PeeringAlert {
  return {
    id: "3b1f0c9e2d7a4c5b8e6f1a2d3c4b5a69",
    kind: "vnet-peering",
    resourceId: PEERING_ID,
    localVnetId: LOCAL_VNET_ID,
    localSubscriptionId: LOCAL_SUBSCRIPTION,
    localTenantId: CONTOSO_TENANT,
    remoteVnetId: REMOTE_VNET_ID,
    remoteSubscriptionId: REMOTE_SUBSCRIPTION,
    remoteTenantId: TENANT_A,
    remoteTenantName: "Tenant A",
    relation: "cross-tenant",
    peeringState: "Connected",
    peeringSyncLevel: "FullyInSync",
    allowForwardedTraffic: true,
    allowGatewayTransit: false,
    useRemoteGateways: false,
    remoteAddressPrefixes: ["10.0.0.0/16"],
    status: "violation",
    allowlistEntryId: null,
    severity: "high",
    riskFactors: ["forwarded-traffic"],
    summary:
      "Peering 'TenantB2TenantA' (Connected) connects VNet 'vnet-demo-test' to 'demo-vnet' in another tenant, " +
      `Tenant A (${TENANT_A}), and no allowlist entry covers it.`,
    firstSeen: "2026-11-28T06:01:12.004Z",
    ...over,
  };
}

const base = (kind: AlertKind) => ({
  schemaVersion: 1 as const,
  kind,
  idempotencyKey: `${kind}:${SCAN_ID}`,
  scanId: SCAN_ID,
  createdAt: CREATED_AT,
});

export function violationAlert(finding: FindingAlert = demoFinding()): AlertMessage {
  return { ...base("violation-new"), severity: finding.severity, title: finding.summary, finding };
}

const northwindEntry = {
  id: "northwind-migration",
  owner: "netops@contoso.com",
  reason: "Northwind data migration, network phase",
  expiresOn: "2026-12-06",
  ticket: "CHG-4711",
  matches: "tenantId=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
};

/** The default policy's inbound B2B collaboration, open to every tenant (the service default). */
export function openInboundSetting(): Extract<FindingAlert, { kind: "cross-tenant-access-policy" }> {
  return {
    id: "c0ffee00c0ffee00c0ffee00c0ffee00",
    kind: "cross-tenant-access-policy",
    resourceId: "/policies/crossTenantAccessPolicy/default",
    localSubscriptionId: "",
    localTenantId: CONTOSO_TENANT,
    remoteSubscriptionId: "",
    remoteTenantId: null,
    remoteTenantName: null,
    relation: "cross-tenant",
    status: "violation",
    allowlistEntryId: null,
    severity: "high",
    riskFactors: ["open-to-all"],
    setting: "b2bCollaborationInbound.usersAndGroups",
    accessType: "allowed",
    targets: ["usersAndGroups:AllUsers", "applications:AllApplications"],
    expected: "blocked for all users and groups and all applications; partners allowed one by one",
    baseline: "CISA MS.AAD.8.3",
    summary:
      "The default cross-tenant access policy (every tenant without its own settings): Inbound B2B collaboration is " +
      "open to everyone; CISA MS.AAD.8.3 expects it blocked, and no allowlist entry covers it.",
    firstSeen: "2026-11-28T06:01:12.004Z",
  };
}

/** One alert of every kind, as the scan would send it. */
export function alertsOfEveryKind(): Record<AlertKind, AlertMessage> {
  const finding = demoFinding();
  const expired = demoFinding({
    status: "expired-exception",
    allowlistEntryId: "tenant-a-pilot",
    summary:
      "Peering 'TenantB2TenantA' (Connected) connects VNet 'vnet-demo-test' to 'demo-vnet' in another tenant, " +
      `Tenant A (${TENANT_A}), and its allowlist entry 'tenant-a-pilot' expired on 2026-11-27.`,
  });
  return {
    "violation-new": violationAlert(finding),
    "violation-reopened": {
      ...base("violation-reopened"),
      severity: "medium",
      title: finding.summary.replace("(Connected)", "(Initiated)"),
      finding: { ...finding, peeringState: "Initiated", severity: "medium" },
    },
    "finding-resolved": {
      ...base("finding-resolved"),
      severity: "info",
      title:
        "Peering 'TenantB2TenantA' from VNet 'vnet-demo-test' to 'demo-vnet' is no longer a cross-tenant " +
        "finding (removed, or now same-tenant).",
      finding,
    },
    "exception-expired": {
      ...base("exception-expired"),
      severity: "high",
      title: expired.summary,
      finding: expired,
    },
    "exception-expiring": {
      ...base("exception-expiring"),
      severity: "low",
      title: "Allowlist entry 'northwind-migration' (netops@contoso.com) expires on 2026-12-06, in 7 day(s).",
      entry: northwindEntry,
    },
    "setting-changed": {
      ...base("setting-changed"),
      severity: "high",
      title:
        "Inbound B2B collaboration was opened in the default cross-tenant access policy: " +
        "b2bCollaborationInbound.usersAndGroups is now allowed (usersAndGroups:AllUsers, applications:AllApplications); " +
        "CISA MS.AAD.8.3 expects blocked for all users and groups and all applications.",
      finding: openInboundSetting(),
    },
    "scan-incomplete": scanIncompleteAlert(2),
    "scan-failed": {
      ...base("scan-failed"),
      severity: "high",
      title: `Scan ${SCAN_ID} failed: Storage account unreachable: getaddrinfo ENOTFOUND contososcan.table.core.windows.net`,
      scan: {
        complete: false,
        errors: [
          {
            source: "scan",
            message: "Storage account unreachable: getaddrinfo ENOTFOUND contososcan.table.core.windows.net",
          },
        ],
      },
    },
    "coverage-lost": {
      ...base("coverage-lost"),
      severity: "medium",
      title:
        "Subscription 7c1a2b3d-0000-4000-8000-000000000042 is no longer visible to the scan (last verified " +
        "2026-11-28T06:00:00.000Z); its 3 unresolved finding(s) are kept as stale, not resolved.",
      coverage: {
        subscriptionId: "7c1a2b3d-0000-4000-8000-000000000042",
        lastVerified: "2026-11-28T06:00:00.000Z",
        lostSince: "2026-11-29T06:00:00.000Z",
        findings: 3,
        scope: { managementGroups: ["contoso-landing-zones"], subscriptions: [] },
      },
    },
    digest: digestAlert(200),
    "scan-degraded": destinationsOffAlert(
      [{ setting: "TEAMS_WEBHOOK_URL", destination: "teams" }],
      SCAN_ID,
      new Date("2026-11-29T06:00:00.000Z"),
    ),
  };
}

export function scanIncompleteAlert(errorCount: number): AlertMessage {
  const errors = Array.from({ length: errorCount }, (_, i) => ({
    source: i % 2 === 0 ? "resource-graph" : "tenant-resolution",
    message:
      i % 2 === 0
        ? `Resource Graph query page ${i + 1} failed after 4 retries: 429 Too Many Requests`
        : `Could not resolve the tenant of subscription 99999999-8888-4777-a666-55555555${String(i).padStart(4, "0")}`,
  }));
  return {
    ...base("scan-incomplete"),
    severity: "medium",
    title: `Scan ${SCAN_ID} could not read everything (${errorCount} error(s)); no finding was marked resolved.`,
    scan: { complete: false, errors, stats: { subscriptions: 3, vnets: 5, peerings: 11, findings: 7 } },
  };
}

const PARTNERS = [
  { name: "Tenant A", vnet: "demo-vnet" },
  { name: "Northwind Traders", vnet: "northwind-vnet" },
  { name: "Woodgrove Bank", vnet: "woodgrove-app-vnet" },
  { name: "Fabrikam Managed Firewall", vnet: "fabrikam-fw-vnet" },
];
const KINDS: AlertKind[] = ["violation-new", "violation-new", "exception-expired", "finding-resolved"];
const STATES = ["Connected", "Initiated", "Disconnected"] as const;

/** A digest of `count` alerts from one busy scan, most severe first, as the sender orders them. */
export function digestAlert(count: number): AlertMessage {
  const items = Array.from({ length: count }, (_, i) => {
    const partner = PARTNERS[i % PARTNERS.length]!;
    const kind = KINDS[i % KINDS.length]!;
    const state = STATES[i % STATES.length]!;
    const severity =
      kind === "finding-resolved"
        ? "info"
        : state === "Connected"
          ? "high"
          : state === "Initiated"
            ? "medium"
            : "low";
    const local = `spoke${String(i + 1).padStart(3, "0")}-vnet`;
    const peering = `Peering '${local}-to-${partner.vnet}'`;
    const connects = `${peering} (${state}) connects VNet '${local}' to '${partner.vnet}' in another tenant, ${partner.name},`;
    const text =
      kind === "finding-resolved"
        ? `${peering} from VNet '${local}' to '${partner.vnet}' is no longer a cross-tenant finding (removed, or now same-tenant).`
        : kind === "exception-expired"
          ? `${connects} and its allowlist entry '${local}-exception' expired on 2026-11-28.`
          : `${connects} and no allowlist entry covers it.`;
    return { kind, severity, text } as const;
  }).sort(bySeverity);
  const counts: Partial<Record<AlertKind, number>> = {};
  for (const item of items) counts[item.kind] = (counts[item.kind] ?? 0) + 1;
  return {
    ...base("digest"),
    severity: items[0]?.severity ?? "info",
    title: `${count} alerts from scan ${SCAN_ID}.`,
    digest: { total: count, counts, items },
  };
}

const NORTHWIND = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const HUB_SUBSCRIPTION = "b2c4d6e8-1a3b-4c5d-8e9f-0a1b2c3d4e5f";
const PE_ID = `/subscriptions/${LOCAL_SUBSCRIPTION}/resourceGroups/demo-test-rg/providers/Microsoft.Network/privateEndpoints/pe-tenanta-storage`;
const STORAGE_ID = `/subscriptions/${HUB_SUBSCRIPTION}/resourceGroups/hub-rg/providers/Microsoft.Storage/storageAccounts/stcontososhared`;
const KEY_VAULT_ID = `/subscriptions/${HUB_SUBSCRIPTION}/resourceGroups/hub-rg/providers/Microsoft.KeyVault/vaults/kv-contoso-secrets`;

const common = {
  localTenantId: CONTOSO_TENANT,
  relation: "cross-tenant" as const,
  status: "violation" as const,
  allowlistEntryId: null,
  firstSeen: "2026-11-28T06:01:12.004Z",
};

/** One new-violation alert per check beyond peerings, as the example estate raises them. */
export function findingAlertsOfEveryCheck(): Record<
  Exclude<FindingAlert["kind"], "vnet-peering">,
  AlertMessage
> {
  const outbound: FindingAlert = {
    ...common,
    id: "650aa170e1fc22b4680ae1b5381f2979",
    kind: "private-endpoint-outbound",
    resourceId: `${PE_ID}/manualPrivateLinkServiceConnections/to-tenanta-blob`,
    localSubscriptionId: LOCAL_SUBSCRIPTION,
    remoteSubscriptionId: REMOTE_SUBSCRIPTION,
    remoteTenantId: TENANT_A,
    remoteTenantName: "Tenant A",
    severity: "high",
    riskFactors: [],
    privateEndpointId: PE_ID,
    targetResourceId: `/subscriptions/${REMOTE_SUBSCRIPTION}/resourceGroups/demo-rg/providers/Microsoft.Storage/storageAccounts/tenantadata`,
    groupIds: ["blob"],
    connectionState: "Approved",
    manual: true,
    summary:
      "Private endpoint 'pe-tenanta-storage' has a manual connection (Approved) to 'tenantadata' in another tenant, " +
      `Tenant A (${TENANT_A}), and no allowlist entry covers it.`,
  };
  const inbound: FindingAlert = {
    ...common,
    id: "3888a4f3eb7e261dd98ad4e6194c9ec9",
    kind: "private-endpoint-inbound",
    resourceId: `${KEY_VAULT_ID}/privateEndpointConnections/nw-to-contoso-kv.51c2`,
    localSubscriptionId: HUB_SUBSCRIPTION,
    remoteSubscriptionId: "e5f7a9b1-4d6e-4f80-9b2c-3d4e5f607182",
    remoteTenantId: NORTHWIND,
    remoteTenantName: "Northwind Traders",
    severity: "medium",
    riskFactors: ["pending-request"],
    targetResourceId: KEY_VAULT_ID,
    privateEndpointId:
      "/subscriptions/e5f7a9b1-4d6e-4f80-9b2c-3d4e5f607182/resourceGroups/nw-migration-rg/providers/Microsoft.Network/privateEndpoints/nw-to-contoso-kv",
    connectionState: "Pending",
    summary:
      "'kv-contoso-secrets' has a connection (Pending) from private endpoint 'nw-to-contoso-kv' in another tenant, " +
      `Northwind Traders (${NORTHWIND}), and no allowlist entry covers it.`,
  };
  const principal: FindingAlert = {
    ...common,
    id: "18defdfa75427608837baae06764cd04",
    kind: "foreign-principal-network-access",
    resourceId: `/subscriptions/${LOCAL_SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments/1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0`,
    localSubscriptionId: LOCAL_SUBSCRIPTION,
    remoteSubscriptionId: "",
    remoteTenantId: TENANT_A,
    remoteTenantName: "Tenant A",
    severity: "high",
    riskFactors: ["subscription-scope"],
    principalId: "6a1f2e3d-4c5b-4a69-8877-1a2b3c4d5e6f",
    principalType: "User",
    principalKind: "guest-user",
    principalDisplayName: "Mallory (Tenant A)",
    principalHomeTenantId: TENANT_A,
    principalHomeDomain: "tenanta.onmicrosoft.com",
    roleDefinitionId: `/subscriptions/${LOCAL_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7`,
    roleName: "Network Contributor",
    scope: `/subscriptions/${LOCAL_SUBSCRIPTION}`,
    grantingActions: ["Microsoft.Network/*"],
    summary:
      `Guest user 'Mallory (Tenant A)' (home tenant Tenant A, ${TENANT_A}) holds 'Network Contributor' on subscription /subscriptions/${LOCAL_SUBSCRIPTION}, ` +
      "which can create VNet peerings (Microsoft.Network/*), and no allowlist entry covers it.",
  };
  const serviceEndpoint: FindingAlert = {
    ...common,
    id: "5b0c2d8e1f4a4c6b9e7d3a2f1c0b9a8d",
    kind: "service-endpoint-inbound",
    resourceId: STORAGE_ID,
    localSubscriptionId: HUB_SUBSCRIPTION,
    remoteSubscriptionId: "e5f7a9b1-4d6e-4f80-9b2c-3d4e5f607182",
    remoteTenantId: NORTHWIND,
    remoteTenantName: "Northwind Traders",
    severity: "high",
    riskFactors: [],
    targetResourceId: STORAGE_ID,
    subnetId:
      "/subscriptions/e5f7a9b1-4d6e-4f80-9b2c-3d4e5f607182/resourceGroups/nw-migration-rg/providers/Microsoft.Network/virtualNetworks/nw-migration-vnet/subnets/workers",
    rule: "properties.networkAcls.virtualNetworkRules",
    summary:
      "'stcontososhared' admits subnet 'workers' in another tenant, " +
      `Northwind Traders (${NORTHWIND}) through properties.networkAcls.virtualNetworkRules, and no allowlist entry covers it.`,
  };
  const exposure: FindingAlert = {
    ...common,
    id: "7d1e5a3c9b2f4e6a8c0d1b3e5f7a9c2e",
    kind: "private-link-service-exposure",
    resourceId: `/subscriptions/${HUB_SUBSCRIPTION}/resourceGroups/hub-rg/providers/Microsoft.Network/privateLinkServices/pls-contoso-public`,
    localSubscriptionId: HUB_SUBSCRIPTION,
    remoteSubscriptionId: "",
    remoteTenantId: null,
    remoteTenantName: null,
    severity: "high",
    riskFactors: ["any-subscription", "auto-approval"],
    setting: "autoApproval",
    subscriptions: ["*"],
    summary:
      "Private link service 'pls-contoso-public' approves private endpoint connections automatically from every " +
      "subscription of every tenant (*), and no allowlist entry covers it.",
  };
  return {
    "private-endpoint-outbound": violationAlert(outbound),
    "private-endpoint-inbound": violationAlert(inbound),
    "foreign-principal-network-access": violationAlert(principal),
    "cross-tenant-access-policy": violationAlert(openInboundSetting()),
    "service-endpoint-inbound": violationAlert(serviceEndpoint),
    "private-link-service-exposure": violationAlert(exposure),
  };
}
