import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { azureGetter, type AzureGet } from "../../src/azure/http";
import { createResourceGraphClient } from "../../src/azure/resource-graph";
import { sandboxConnection } from "../../src/sandbox/connection";
import { readEstateFile, parseEstate, type Estate } from "../../src/sandbox/estate";
import { startSandbox, type RunningSandbox } from "../../src/sandbox/server";
import { ofKind } from "../../src/scanners/findings";
import { sandboxScan } from "../helpers/sandbox";

const ROOT = join(__dirname, "../../..");
const GUEST = "6a1f2e3d-4c5b-4a69-8877-1a2b3c4d5e6f";
const MEMBER = "7b2a3f4e-5d6c-4b7a-9988-2b3c4d5e6f70";
const DEMO_SUB = "31bdf544-8e8e-4f5b-bb31-3316a05e5581";
const TENANT_A = "31ca78c2-d833-433a-9977-88e160bd4ac0";
const GROUP = "bf6e7d8c-91a2-4fbc-8dcc-6f708192a3b4";

let estate: Estate;
let sandbox: RunningSandbox;
let get: AzureGet;
const json = async (url: string, body?: unknown) => {
  const response = await get(`${sandbox.url}${url}`, { scope: `${sandbox.url}/.default` }, body);
  return {
    status: response.status,
    body: JSON.parse(response.bodyAsText ?? "null") as Record<string, unknown>,
  };
};

beforeAll(async () => {
  const base = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  const raw = JSON.parse(JSON.stringify(base)) as Estate & { directoryObjects: unknown[] };
  raw.directoryObjects.push({
    "@odata.type": "#microsoft.graph.group",
    id: GROUP,
    displayName: "Network operators",
    members: [MEMBER, GUEST],
  });
  estate = parseEstate(raw, "test");
  sandbox = await startSandbox({ estate, memberPageSize: 1 });
  get = azureGetter(sandboxConnection(sandbox, estate, loadConfig({})));
});
afterAll(() => sandbox.close());

describe("the sandbox's Graph answers as Graph v1.0 does", () => {
  it("getByIds returns users with the default properties only: no userType", async () => {
    const { status, body } = await json("/v1.0/directoryObjects/getByIds", { ids: [GUEST], types: ["user"] });
    expect(status).toBe(200);
    const [user] = body.value as Record<string, unknown>[];
    expect(user).toMatchObject({
      "@odata.type": "#microsoft.graph.user",
      id: GUEST,
      displayName: "Mallory (Tenant A)",
    });
    expect(user).not.toHaveProperty("userType");
    expect(user).not.toHaveProperty("externalUserState");
  });

  it("GET /users/{id} without $select leaves userType out; with $select it is there", async () => {
    expect((await json(`/v1.0/users/${GUEST}`)).body).not.toHaveProperty("userType");
    expect((await json(`/v1.0/users/${GUEST}?$select=id,userType,userPrincipalName`)).body).toEqual({
      id: GUEST,
      userType: "Guest",
      userPrincipalName: "mallory_tenanta.onmicrosoft.com#EXT#@contoso.onmicrosoft.com",
    });
  });

  it("GET /users?$filter=id in (...)&$select=... answers, and refuses more than 15 values", async () => {
    const filter = encodeURIComponent(`id in ('${GUEST}','${MEMBER}')`);
    const { body } = await json(`/v1.0/users?$filter=${filter}&$select=id,userType`);
    expect(body.value).toEqual([
      { id: GUEST, userType: "Guest" },
      { id: MEMBER, userType: "Member" },
    ]);
    const sixteen = Array.from(
      { length: 16 },
      (_, i) => `'00000000-0000-4000-8000-${String(i).padStart(12, "0")}'`,
    );
    const refused = await json(`/v1.0/users?$filter=${encodeURIComponent(`id in (${sixteen.join(",")})`)}`);
    expect(refused.status).toBe(400);
  });

  it("a group's transitive members come paged through @odata.nextLink, with $select", async () => {
    const first = await json(`/v1.0/groups/${GROUP}/transitiveMembers?$select=id,userType`);
    expect(first.body.value).toEqual([
      { "@odata.type": "#microsoft.graph.user", id: MEMBER, userType: "Member" },
    ]);
    const next = new URL(String(first.body["@odata.nextLink"]));
    const second = await json(`${next.pathname}${next.search}`);
    expect(second.body.value).toEqual([
      { "@odata.type": "#microsoft.graph.user", id: GUEST, userType: "Guest" },
    ]);
    expect(second.body).not.toHaveProperty("@odata.nextLink");
  });

  it("finds a tenant by one of its domains, case-insensitively", async () => {
    const { body } = await json(
      "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='tenanta.onmicrosoft.com')",
    );
    expect(body).toMatchObject({ tenantId: TENANT_A, displayName: "Tenant A" });
    const unknown = await json(
      "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='gmail.com')",
    );
    expect(unknown.status).toBe(404);
  });
});

describe("the sandbox's Resource Graph answers as Resource Graph does", () => {
  const DEFINITIONS =
    "authorizationresources | where type =~ 'microsoft.authorization/roledefinitions' | project id";

  it("a subscription scope returns no built-in role definitions; the tenant scope does", async () => {
    const client = createResourceGraphClient(sandboxConnection(sandbox, estate, loadConfig({})));
    const scoped = await client.resources({ query: DEFINITIONS, subscriptions: [DEMO_SUB] });
    expect((scoped.data as { id: string }[]).some((r) => r.id.startsWith("/providers/"))).toBe(false);
    const tenant = await client.resources({ query: DEFINITIONS });
    expect((tenant.data as { id: string }[]).some((r) => r.id.startsWith("/providers/"))).toBe(true);
  });

  it("a 429 fault can carry only the quota headers, no Retry-After", async () => {
    const faulty = await startSandbox({
      estate,
      resourceGraphFault: () => ({ status: 429, quotaResetsAfterSeconds: 2 }),
    });
    try {
      const client = createResourceGraphClient({
        ...sandboxConnection(faulty, estate, loadConfig({})),
        retryOptions: { maxRetries: 0 },
      });
      const error = (await client.resources({ query: "resources | count" }).catch((e: unknown) => e)) as {
        statusCode: number;
        response: { headers: { get(name: string): string | undefined } };
      };
      expect(error.statusCode).toBe(429);
      expect(error.response.headers.get("retry-after")).toBeUndefined();
      expect(error.response.headers.get("x-ms-user-quota-remaining")).toBe("0");
      expect(error.response.headers.get("x-ms-user-quota-resets-after")).toBe("00:00:02");
    } finally {
      await faulty.close();
    }
  });

  it("refuses a tenant scope past its size with TooManySubscriptionsUnderScope, unless partial scopes are allowed", async () => {
    const small = await startSandbox({ estate, maxSubscriptionsUnderScope: 1, tenantSubscriptionLimit: 1 });
    try {
      const client = createResourceGraphClient(sandboxConnection(small, estate, loadConfig({})));
      await expect(client.resources({ query: "resources | project id" })).rejects.toMatchObject({
        statusCode: 400,
        details: {
          error: { details: [expect.objectContaining({ code: "TooManySubscriptionsUnderScope" })] },
        },
      });
      const partial = await client.resources({
        query: "resourcecontainers | project id",
        options: { allowPartialScopes: true },
      });
      expect(partial.data).toHaveLength(1);
    } finally {
      await small.close();
    }
  });
});

describe("a throttled Resource Graph request without Retry-After (issue 16)", () => {
  it("in the middle of a scan: waited out by x-ms-user-quota-resets-after, and the scan completes", async () => {
    const waits: number[] = [];
    const env = await sandboxScan(estate, {
      quota: { requests: 1000, windowMs: 5000 },
      resourceGraphFault: (n) =>
        n === 4 || n === 9 ? { status: 429, quotaResetsAfterSeconds: 3 } : undefined,
    });
    try {
      const report = await env.scan({ sleep: async (ms) => void waits.push(ms) });
      expect(report.errors).toEqual([]);
      expect(report.complete).toBe(true);
      // Waited as x-ms-user-quota-resets-after said (00:00:03); the test's sleep returns at once.
      expect(waits.length).toBeGreaterThanOrEqual(2);
      expect(waits.every((ms) => ms > 2000 && ms <= 3000)).toBe(true);
      expect(report.findings.filter(ofKind("foreign-principal-network-access")).length).toBeGreaterThan(0);
    } finally {
      await env.close();
    }
  });

  it("past the scan's budget of waits the query fails, named, and the scan is incomplete", async () => {
    const env = await sandboxScan(estate, {
      quota: { requests: 1000, windowMs: 5000 },
      resourceGraphFault: (n) => (n === 2 ? { status: 429, quotaResetsAfterSeconds: 30 } : undefined),
    });
    try {
      const report = await env.scan({
        sleep: async () => {},
        env: { RESOURCE_GRAPH_THROTTLE_WAIT_SECONDS: "10" },
      });
      expect(report.complete).toBe(false);
      expect(report.errors.map((e) => e.message).join("\n")).toMatch(/429.*budget of waits/);
    } finally {
      await env.close();
    }
  });
});
