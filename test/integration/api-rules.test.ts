import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { HttpRequest, InvocationContext, type HttpResponseInit } from "@azure/functions";
import { ENTRY_LIMITS } from "../../src/allowlist/entry";
import { appServiceAuthOf, type AppServiceAuth } from "../../src/api/principal";
import { loadConfig } from "../../src/config";
import { allowlistHttp, findingsHttp, healthHttp, reportHttp, scansHttp } from "../../src/functions/http-api";
import { useRuntime, type Runtime } from "../../src/functions/runtime";
import { sandboxConnection } from "../../src/sandbox/connection";
import { readEstateFile, type Estate } from "../../src/sandbox/estate";
import { startSandbox, type RunningSandbox } from "../../src/sandbox/server";
import { AllowlistStore } from "../../src/store/allowlist-store";
import type { Storage } from "../../src/store/storage";
import { testStorage, type TestStorage } from "../helpers/azurite";
import { TEST_QUOTA } from "../helpers/sandbox";

const ROOT = join(__dirname, "../../..");
const TENANT = "9c8b7a65-4d3e-4f21-8a0b-1c2d3e4f5a6b";
const ENTRY = { tenantId: TENANT, owner: "netops@contoso.com", reason: "Managed firewall" };
const REQUIRED: AppServiceAuth = appServiceAuthOf({
  WEBSITE_AUTH_ENABLED: "True",
  WEBSITE_AUTH_V2_CONFIG_JSON: JSON.stringify({
    globalValidation: { requireAuthentication: true, unauthenticatedClientAction: "Return401" },
  }),
});

let state: TestStorage;
let sandbox: RunningSandbox;
let estate: Estate;
let logs: string[] = [];

function use(env: Record<string, string>, appServiceAuth?: AppServiceAuth, storage?: Storage): void {
  const config = loadConfig({ AZURE_MAX_RETRIES: "1", ...env });
  const runtime: Runtime = {
    config,
    storage: storage ?? state.storage,
    connection: sandboxConnection(sandbox, estate, config),
    ...(appServiceAuth ? { appServiceAuth } : {}),
  };
  useRuntime(runtime);
}

beforeAll(async () => {
  state = await testStorage();
  estate = await readEstateFile(join(ROOT, "examples/estates/two-tenants.json"));
  sandbox = await startSandbox({ estate, quota: TEST_QUOTA });
});
afterEach(async () => {
  logs = [];
  await new AllowlistStore(state.storage).replaceAll([], "test");
});
afterAll(async () => {
  useRuntime(undefined);
  await sandbox.close();
  await state.stop();
});

type Response = HttpResponseInit & { jsonBody?: Record<string, unknown> };
type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

function call(
  handler: Handler,
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string>; params?: Record<string, string> } = {},
): Promise<Response> {
  const request = new HttpRequest({
    method,
    url: `https://app.example/api/${path}`,
    params: init.params ?? {},
    headers: init.headers ?? (init.body !== undefined ? { "content-type": "application/json" } : {}),
    ...(init.body !== undefined ? { body: { string: init.body } } : {}),
  });
  const context = new InvocationContext({
    functionName: "http",
    logHandler: (_level, ...args) => logs.push(JSON.stringify(args)),
  });
  return handler(request, context) as Promise<Response>;
}

const put = (id: string, body: unknown, headers?: Record<string, string>) =>
  call(allowlistHttp, "PUT", `allowlist/${id}`, {
    params: { id },
    body: JSON.stringify(body),
    ...(headers ? { headers: { "content-type": "application/json", ...headers } } : {}),
  });

/** The header App Service Authentication sends, or a forgery of it. */
const principal = (claims: { typ: string; val: string }[], extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ auth_typ: "aad", claims, ...extra })).toString("base64");
const writer = principal([
  { typ: "name", val: "alice@contoso.com" },
  { typ: "roles", val: "Allowlist.Write" },
]);

describe("query strings", () => {
  it("accepts and ignores ?code= on every route and method", async () => {
    use({ ALLOWLIST_WRITE_AUTH: "function-key" });
    const withCode = "code=the-function-key";
    const answers = [
      await call(findingsHttp, "GET", `findings?${withCode}`),
      await call(findingsHttp, "GET", `findings?status=open&${withCode}`),
      await call(scansHttp, "GET", `scans?${withCode}`),
      await call(scansHttp, "GET", `scans?limit=5&${withCode}`),
      await call(scansHttp, "GET", `scans/nope?${withCode}`, { params: { id: "nope" } }),
      await call(scansHttp, "POST", `scans?${withCode}`, { body: '{"dryRun": true}' }),
      await call(allowlistHttp, "GET", `allowlist?${withCode}`),
      await call(allowlistHttp, "PUT", `allowlist/a?${withCode}`, {
        params: { id: "a" },
        body: JSON.stringify(ENTRY),
      }),
      await call(allowlistHttp, "GET", `allowlist/a?${withCode}`, { params: { id: "a" } }),
      await call(allowlistHttp, "DELETE", `allowlist/a?${withCode}`, { params: { id: "a" } }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 404, 202, 200, 201, 200, 204]);
  });

  it("refuses any other unknown parameter on every route with 400, writing nothing", async () => {
    use({ ALLOWLIST_WRITE_AUTH: "function-key" });
    const answers = [
      await call(findingsHttp, "GET", "findings?colour=red"),
      await call(scansHttp, "GET", "scans?colour=red"),
      await call(scansHttp, "GET", "scans/nope?colour=red", { params: { id: "nope" } }),
      await call(scansHttp, "POST", "scans?colour=red", { body: '{"dryRun": true}' }),
      await call(allowlistHttp, "GET", "allowlist?colour=red"),
      await call(allowlistHttp, "GET", "allowlist/a?colour=red", { params: { id: "a" } }),
      await call(allowlistHttp, "PUT", "allowlist/a?colour=red", {
        params: { id: "a" },
        body: JSON.stringify(ENTRY),
      }),
      await call(allowlistHttp, "DELETE", "allowlist/a?colour=red", { params: { id: "a" } }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(String(answer.jsonBody!.detail)).toMatch(/colour/);
    }
    expect(await new AllowlistStore(state.storage).list()).toEqual([]);
  });

  it("reads integers as decimal digits only", async () => {
    use({ ALLOWLIST_WRITE_AUTH: "function-key" });
    for (const limit of ["0x10", "1e1", "+5", " 5", "5.0", "0b11", ""]) {
      const answer = await call(scansHttp, "GET", `scans?limit=${encodeURIComponent(limit)}`);
      expect([limit, answer.status]).toEqual([limit, 400]);
      expect(String(answer.jsonBody!.detail)).toMatch(/limit: must be a decimal whole number/);
    }
    expect((await call(scansHttp, "GET", "scans?limit=16")).status).toBe(200);
  });
});

describe("allowlist writes fail closed under ALLOWLIST_WRITE_AUTH=role (the default)", () => {
  it("a write with no principal, or an empty one, gets 401 and changes nothing", async () => {
    use({}, REQUIRED);
    expect((await put("a", ENTRY)).status).toBe(401);
    expect((await put("a", ENTRY, { "x-ms-client-principal": "" })).status).toBe(401);
    expect((await put("a", ENTRY, { "x-ms-client-principal": "not base64 json" })).status).toBe(401);
    expect((await put("a", ENTRY, { "x-ms-client-principal": principal([]) })).status).toBe(401);
    const del = await call(allowlistHttp, "DELETE", "allowlist/a", { params: { id: "a" } });
    expect(del.status).toBe(401);
    expect(await new AllowlistStore(state.storage).list()).toEqual([]);
  });

  it("needs Allowlist.Write in the standard roles claim; the caller's role_typ is ignored", async () => {
    use({}, REQUIRED);
    const groups = principal(
      [
        { typ: "name", val: "mallory@contoso.com" },
        { typ: "groups", val: "Allowlist.Write" },
      ],
      { role_typ: "groups" },
    );
    const refused = await put("a", ENTRY, { "x-ms-client-principal": groups });
    expect(refused.status).toBe(403);
    expect(String(refused.jsonBody!.detail)).toMatch(
      /mallory@contoso.com lacks the app role 'Allowlist.Write'/,
    );
    const allowed = await put("a", ENTRY, { "x-ms-client-principal": writer });
    expect(allowed.status).toBe(201);
    expect(allowed.jsonBody).toMatchObject({ createdBy: "alice@contoso.com" });
  });

  it("cleans the caller's name before it becomes createdBy", async () => {
    use({}, REQUIRED);
    const forged = principal([
      { typ: "name", val: "eve\u001b[31m\u202e\u0000" },
      { typ: "roles", val: "Allowlist.Write" },
    ]);
    const created = await put("a", ENTRY, { "x-ms-client-principal": forged });
    expect(created.status).toBe(201);
    expect(created.jsonBody!.createdBy).toBe("eve\ufffd[31m\ufffd\ufffd");
  });

  it("refuses every write while the platform's settings show authentication off or anonymous", async () => {
    const platforms = [
      appServiceAuthOf({}),
      appServiceAuthOf({ WEBSITE_AUTH_ENABLED: "False" }),
      appServiceAuthOf({
        WEBSITE_AUTH_ENABLED: "True",
        WEBSITE_AUTH_V2_CONFIG_JSON: JSON.stringify({
          globalValidation: { requireAuthentication: false, unauthenticatedClientAction: "AllowAnonymous" },
        }),
      }),
      appServiceAuthOf({
        WEBSITE_AUTH_ENABLED: "True",
        WEBSITE_AUTH_UNAUTHENTICATED_ACTION: "AllowAnonymous",
      }),
      undefined,
    ];
    for (const platform of platforms) {
      use({}, platform);
      const refused = await put("a", ENTRY, { "x-ms-client-principal": writer });
      expect(refused.status).toBe(503);
      expect(String(refused.jsonBody!.detail)).toMatch(/ALLOWLIST_WRITE_AUTH is role, but/);
    }
    expect(platforms.slice(0, 4).map((p) => p!.state)).toEqual([
      "off",
      "off",
      "anonymous-allowed",
      "anonymous-allowed",
    ]);
    expect(REQUIRED.state).toBe("required");
    expect(
      appServiceAuthOf({
        WEBSITE_AUTH_ENABLED: "true",
        WEBSITE_AUTH_UNAUTHENTICATED_ACTION: "RedirectToLoginPage",
      }).state,
    ).toBe("required");
    expect(await new AllowlistStore(state.storage).list()).toEqual([]);
  });

  it("with ALLOWLIST_WRITE_AUTH=function-key the key is enough, and a forged name is not taken", async () => {
    use({ ALLOWLIST_WRITE_AUTH: "function-key" });
    const created = await put("a", ENTRY, { "x-ms-client-principal": writer });
    expect(created.status).toBe(201);
    expect(created.jsonBody!.createdBy).toBe("api (function key)");
  });
});

describe("allowlist entries through the API", () => {
  it("takes 100 entries at the longest field lengths", async () => {
    use({}, REQUIRED);
    const pad = (prefix: string) => prefix + "x".repeat(ENTRY_LIMITS.resourceId - prefix.length);
    const longest = (n: number) => ({
      remoteVnetId: pad(
        `/subscriptions/${TENANT}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/${n}-`,
      ),
      localScope: pad(`/subscriptions/${TENANT}/resourceGroups/`),
      owner: "ø".repeat(ENTRY_LIMITS.owner),
      reason: "😀".repeat(ENTRY_LIMITS.reason / 2),
      ticket: "t".repeat(ENTRY_LIMITS.ticket),
      expiresOn: "2099-12-31",
    });
    expect(longest(0).remoteVnetId).toHaveLength(ENTRY_LIMITS.resourceId);
    expect(longest(0).localScope).toHaveLength(ENTRY_LIMITS.resourceId);
    for (let n = 0; n < 100; n++) {
      const answer = await put(`long-${n}`, longest(n), { "x-ms-client-principal": writer });
      expect([n, answer.status]).toEqual([n, 201]);
    }
    const stored = await new AllowlistStore(state.storage).list();
    expect(stored).toHaveLength(100);
    expect(stored[99]).toMatchObject(longest(99));
    const tooLong = await put(
      "x",
      { ...ENTRY, reason: "r".repeat(ENTRY_LIMITS.reason + 1) },
      {
        "x-ms-client-principal": writer,
      },
    );
    expect(tooLong.status).toBe(400);
    expect(String(tooLong.jsonBody!.detail)).toMatch(/reason: must be at most 1024 characters/);
  });

  it("refuses a body that does not say it is JSON", async () => {
    use({ ALLOWLIST_WRITE_AUTH: "function-key" });
    const answer = await call(allowlistHttp, "PUT", "allowlist/a", {
      params: { id: "a" },
      body: JSON.stringify(ENTRY),
      headers: { "content-type": "text/plain" },
    });
    expect(answer.status).toBe(415);
    expect(await new AllowlistStore(state.storage).list()).toEqual([]);
  });
});

describe("responses carry no internals", () => {
  it("a storage failure is a 500 with a correlation id; the storage message goes to the log only", async () => {
    const internal =
      "The table specified does not exist. RequestId:0f1e2d3c Time:2026-11-29T10:00:00.0000000Z";
    const broken: Storage = {
      describe: "broken storage",
      table: () => Promise.reject(new Error(internal)),
      queue: () => Promise.reject(new Error(internal)),
    };
    use({ ALLOWLIST_WRITE_AUTH: "function-key" }, undefined, broken);
    const answer = await call(allowlistHttp, "GET", "allowlist");
    expect(answer.status).toBe(500);
    const body = JSON.stringify(answer.jsonBody);
    expect(body).not.toMatch(/RequestId|does not exist|Time:/);
    const correlationId = String(answer.jsonBody!.correlationId);
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(String(answer.jsonBody!.detail)).toContain(correlationId);
    expect(logs.join("\n")).toContain(correlationId);
    expect(logs.join("\n")).toContain("RequestId:0f1e2d3c");
  });

  it("a configuration error is a 500 that names neither the setting's value nor its secret", async () => {
    useRuntime(undefined);
    const saved = process.env.ALERT_ALLOWED_HOSTS;
    process.env.ALERT_ALLOWED_HOSTS = "https://prod-01.westeurope.logic.azure.com/workflows/x?sig=SECRETSIG";
    try {
      const answer = await call(findingsHttp, "GET", "findings");
      expect(answer.status).toBe(500);
      expect(JSON.stringify(answer.jsonBody)).not.toMatch(/SECRETSIG|ALERT_ALLOWED_HOSTS/);
      expect(logs.join("\n")).toContain("ALERT_ALLOWED_HOSTS");
      expect(logs.join("\n")).not.toContain("SECRETSIG");
    } finally {
      if (saved === undefined) delete process.env.ALERT_ALLOWED_HOSTS;
      else process.env.ALERT_ALLOWED_HOSTS = saved;
      useRuntime(undefined);
    }
  });
});

describe("reads with API_READ_AUTH=role (what infra/app.bicep deploys)", () => {
  const reader = principal([
    { typ: "name", val: "bob@contoso.com" },
    { typ: "roles", val: "Findings.Read" },
  ]);
  // Any user of the tenant with a token for the app, holding no app role.
  const member = principal([{ typ: "name", val: "eve@contoso.com" }]);
  const as = (header?: string) => (header ? { headers: { "x-ms-client-principal": header } } : {});

  it("a principal without the read role gets 403 from GET /api/findings; with it, 200", async () => {
    use({ API_READ_AUTH: "role" }, REQUIRED);
    const refused = await call(findingsHttp, "GET", "findings", as(member));
    expect(refused.status).toBe(403);
    expect(String(refused.jsonBody!.detail)).toBe(
      "eve@contoso.com lacks the app role 'Findings.Read' needed to read through the API.",
    );
    // Allowlist.Write alone is not a read role.
    expect((await call(findingsHttp, "GET", "findings", as(writer))).status).toBe(403);
    expect((await call(findingsHttp, "GET", "findings")).status).toBe(401);
    const allowed = await call(findingsHttp, "GET", "findings", as(reader));
    expect(allowed.status).toBe(200);
    expect(allowed.jsonBody).toMatchObject({ count: expect.any(Number), findings: expect.any(Array) });
  });

  it("every read route and POST /api/scans need the role; writes still need Allowlist.Write", async () => {
    use({ API_READ_AUTH: "role", ALLOWLIST_WRITE_AUTH: "role" }, REQUIRED);
    const routes = (header?: string) =>
      Promise.all([
        call(scansHttp, "GET", "scans", as(header)),
        call(scansHttp, "POST", "scans", {
          body: '{"dryRun": true}',
          headers: {
            "content-type": "application/json",
            ...(header ? { "x-ms-client-principal": header } : {}),
          },
        }),
        call(allowlistHttp, "GET", "allowlist", as(header)),
        // No complete scan stored here: a reader is told so (404), a member is refused first.
        call(reportHttp, "GET", "report", as(header)),
      ]);
    expect((await routes(member)).map((r) => r.status)).toEqual([403, 403, 403, 403]);
    expect((await routes(reader)).map((r) => r.status)).toEqual([200, 202, 200, 404]);
    // The health checks say what the identity can reach: a member gets nothing of it.
    expect((await call(healthHttp, "GET", "health", as(member))).status).toBe(403);
    const write = await put("by-reader", ENTRY, { "x-ms-client-principal": reader });
    expect(write.status).toBe(403);
    expect(await new AllowlistStore(state.storage).list()).toEqual([]);
  });

  it("refuses reads with 503 while the platform does not require authentication (the header could be forged)", async () => {
    use({ API_READ_AUTH: "role" });
    const answer = await call(findingsHttp, "GET", "findings", as(reader));
    expect(answer.status).toBe(503);
    expect(String(answer.jsonBody!.detail)).toMatch(
      /API_READ_AUTH is role, but App Service Authentication is off/,
    );
  });
});
