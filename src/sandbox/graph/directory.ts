import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { Estate } from "../estate";

/** What the Graph half of the sandbox may be told to refuse or count. */
export interface GraphDirectoryOptions {
  /** Whether the scanner holds Directory.Read.All (default true); without it directory reads answer 403. */
  directoryAccess?: boolean;
  /** Whether the scanner holds CrossTenantInformation.ReadBasic.All (default true). */
  graphAccess?: boolean;
  /** Members per page of `transitiveMembers` (Graph's default page is 100). */
  memberPageSize?: number;
  /**
   * Properties left out of every directory answer, whatever `$select` says: a fault mode for
   * tests that a missing field never means "no finding".
   */
  omitProperties?: string[];
}

export interface GraphDirectoryCounters {
  /** Graph `directoryObjects/getByIds` requests. */
  directoryLookups: number;
  /** `GET /users`, `GET /users/{id}` and `GET /servicePrincipals` requests. */
  userReads: number;
  /** Pages of `GET /groups/{id}/transitiveMembers`. */
  groupMemberPages: number;
  /** `findTenantInformationByDomainName` requests. */
  domainLookups: number;
}

/**
 * The properties Graph v1.0 returns for a user when no `$select` names others (user resource
 * type, "Properties": "Returned by default"; getByIds: "Not all directory objects returned are
 * the full objects"; known issues: v1.0 users come back with a limited set unless `$select` is
 * used). `userType`, `externalUserState`, `creationType` and `identities` are not among them.
 */
export const DEFAULT_USER_PROPERTIES = [
  "businessPhones",
  "displayName",
  "givenName",
  "id",
  "jobTitle",
  "mail",
  "mobilePhone",
  "officeLocation",
  "preferredLanguage",
  "surname",
  "userPrincipalName",
] as const;

/**
 * The `in` operator takes at most 15 expressions in one filter clause by default
 * (learn.microsoft.com/graph/filter-query-parameter, "Operators and functions supported").
 */
export const MAX_IN_VALUES = 15;

const DEFAULT_MEMBER_PAGE = 100;

/**
 * Properties a `$select` may name, by type: Graph answers a selected property the object does not
 * have set as null (user, servicePrincipal and group resource types list them).
 */
const SELECTABLE: Record<string, readonly string[]> = {
  "#microsoft.graph.user": [
    ...DEFAULT_USER_PROPERTIES,
    "userType",
    "externalUserState",
    "creationType",
    "identities",
    "accountEnabled",
  ],
  "#microsoft.graph.serviceprincipal": [
    "id",
    "displayName",
    "appId",
    "appOwnerOrganizationId",
    "servicePrincipalType",
  ],
  "#microsoft.graph.group": ["id", "displayName", "securityEnabled", "mailEnabled"],
};

type DirectoryObject = Estate["directoryObjects"][number];

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

const graphError = (res: ServerResponse, status: number, code: string, message: string) =>
  send(res, status, { error: { code, message } });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const isUser = (o: DirectoryObject) => o["@odata.type"].toLowerCase() === "#microsoft.graph.user";
const isGroup = (o: DirectoryObject) => o["@odata.type"].toLowerCase() === "#microsoft.graph.group";

/** `$select=a,b` as a list; null when the request names none. */
function selectOf(url: URL): string[] | null {
  const raw = url.searchParams.get("$select");
  if (raw === null) return null;
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * A stored object as Graph answers it: users with the default set unless `$select` names more;
 * `$select` honoured where Graph documents it (list and get of users, transitiveMembers). Group
 * membership is the sandbox's own bookkeeping and never leaves it.
 */
function shaped(
  object: DirectoryObject,
  select: string[] | null,
  withType: boolean,
  omit: readonly string[] = [],
): Record<string, unknown> {
  const { members: _members, ...stored } = object as DirectoryObject & { members?: unknown };
  const keep =
    select ??
    (isUser(object) ? [...DEFAULT_USER_PROPERTIES] : Object.keys(stored).filter((k) => k !== "@odata.type"));
  const selectable = SELECTABLE[object["@odata.type"].toLowerCase()] ?? [];
  const out: Record<string, unknown> = withType ? { "@odata.type": object["@odata.type"] } : {};
  for (const name of keep) {
    if (omit.some((o) => o.toLowerCase() === name.toLowerCase())) continue;
    const key = Object.keys(stored).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key && key !== "@odata.type") out[key] = (stored as Record<string, unknown>)[key];
    else if (selectable.some((p) => p.toLowerCase() === name.toLowerCase())) out[name] = null;
  }
  return out;
}

/**
 * Microsoft Graph's directory over the estate's `directoryObjects[]`: getByIds, users read with
 * `$select`, a group's transitive members, and a tenant found by one of its domains.
 */
export class GraphDirectory {
  readonly counters: GraphDirectoryCounters = {
    directoryLookups: 0,
    userReads: 0,
    groupMemberPages: 0,
    domainLookups: 0,
  };

  constructor(
    private readonly estate: Estate,
    private readonly options: GraphDirectoryOptions = {},
  ) {}

  private get omit(): readonly string[] {
    return this.options.omitProperties ?? [];
  }

  /** Answers the request when it is one of this module's routes; false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<boolean> {
    const method = req.method ?? "GET";
    if (method === "POST" && /^\/v1\.0\/directoryObjects\/getByIds$/i.test(path)) {
      this.counters.directoryLookups += 1;
      if (this.refused(req, res, this.options.directoryAccess)) return true;
      await this.getByIds(req, res);
      return true;
    }
    const list = method === "GET" && path.match(/^\/v1\.0\/(users|servicePrincipals)\/?$/i);
    if (list) {
      this.counters.userReads += 1;
      if (this.refused(req, res, this.options.directoryAccess)) return true;
      this.list(res, url, list[1]!.toLowerCase() === "users" ? "users" : "servicePrincipals");
      return true;
    }
    const user = method === "GET" && path.match(/^\/v1\.0\/users\/([^/]+)$/i);
    if (user) {
      this.counters.userReads += 1;
      if (this.refused(req, res, this.options.directoryAccess)) return true;
      const found = this.estate.directoryObjects.find(
        (o) =>
          isUser(o) &&
          (o.id.toLowerCase() === user[1]!.toLowerCase() ||
            String(o.userPrincipalName ?? "").toLowerCase() === user[1]!.toLowerCase()),
      );
      if (!found) graphError(res, 404, "Request_ResourceNotFound", `Resource '${user[1]}' does not exist.`);
      else send(res, 200, shaped(found, selectOf(url), false, this.omit));
      return true;
    }
    const members = method === "GET" && path.match(/^\/v1\.0\/groups\/([^/]+)\/transitiveMembers$/i);
    if (members) {
      this.counters.groupMemberPages += 1;
      if (this.refused(req, res, this.options.directoryAccess)) return true;
      this.transitiveMembers(req, res, members[1]!, url);
      return true;
    }
    const domain =
      method === "GET" &&
      path.match(
        /^\/v1\.0\/tenantRelationships\/findTenantInformationByDomainName\(domainName='([^']+)'\)$/i,
      );
    if (domain) {
      this.counters.domainLookups += 1;
      if (this.refused(req, res, this.options.graphAccess)) return true;
      this.tenantByDomain(res, domain[1]!);
      return true;
    }
    return false;
  }

  /** 401 without a token; 403 Authorization_RequestDenied without the permission, as Graph answers. */
  private refused(req: IncomingMessage, res: ServerResponse, granted: boolean | undefined): boolean {
    if (!req.headers.authorization?.startsWith("Bearer ")) {
      graphError(res, 401, "InvalidAuthenticationToken", "Access token is empty.");
      return true;
    }
    if (granted === false) {
      graphError(
        res,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
      );
      return true;
    }
    return false;
  }

  /**
   * `POST /v1.0/directoryObjects/getByIds`: at most 1000 ids, ids it does not know left out
   * (learn.microsoft.com/graph/api/directoryobject-getbyids). It documents no `$select`, and
   * users come back with the default properties only.
   */
  private async getByIds(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req)) || "null");
    } catch {
      body = null;
    }
    const parsed = z
      .object({ ids: z.array(z.string()).min(1), types: z.array(z.string()).optional() })
      .safeParse(body);
    if (!parsed.success)
      return graphError(res, 400, "Request_BadRequest", "The request body needs an ids array.");
    if (parsed.data.ids.length > 1000)
      return graphError(
        res,
        400,
        "Request_BadRequest",
        `Too many ids: ${parsed.data.ids.length}; at most 1000 are allowed in one request.`,
      );
    const ids = new Set(parsed.data.ids.map((id) => id.toLowerCase()));
    const types = parsed.data.types?.map((t) => `#microsoft.graph.${t}`.toLowerCase());
    send(res, 200, {
      "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
      value: this.estate.directoryObjects
        .filter(
          (o) => ids.has(o.id.toLowerCase()) && (!types || types.includes(o["@odata.type"].toLowerCase())),
        )
        .map((o) => shaped(o, null, true, this.omit)),
    });
  }

  /**
   * `GET /v1.0/users` or `/servicePrincipals`, `?$filter=id in ('…', …)&$select=…` (list users,
   * list servicePrincipals: `id` supports `$filter` with `in`; `$select` honoured).
   */
  private list(res: ServerResponse, url: URL, collection: "users" | "servicePrincipals"): void {
    const filter = url.searchParams.get("$filter");
    const type = collection === "users" ? "#microsoft.graph.user" : "#microsoft.graph.serviceprincipal";
    let users = this.estate.directoryObjects.filter((o) => o["@odata.type"].toLowerCase() === type);
    if (filter !== null) {
      const match = filter.match(/^\s*id\s+in\s+\(([^)]*)\)\s*$/i);
      if (!match)
        return graphError(
          res,
          400,
          "Request_UnsupportedQuery",
          "The sandbox serves $filter=id in (...) only.",
        );
      const values = [...match[1]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!.toLowerCase());
      if (values.length > MAX_IN_VALUES)
        return graphError(
          res,
          400,
          "Request_UnsupportedQuery",
          `Too many expressions in the 'in' operator: ${values.length}; at most ${MAX_IN_VALUES} are allowed.`,
        );
      users = users.filter((u) => values.includes(u.id.toLowerCase()));
    }
    send(res, 200, {
      "@odata.context": `https://graph.microsoft.com/v1.0/$metadata#${collection}`,
      value: users.map((u) => shaped(u, selectOf(url), false, this.omit)),
    });
  }

  /**
   * `GET /v1.0/groups/{id}/transitiveMembers`: every member through nested groups, paged through
   * `@odata.nextLink`, `$select` honoured (learn.microsoft.com/graph/api/group-list-transitivemembers).
   */
  private transitiveMembers(req: IncomingMessage, res: ServerResponse, groupId: string, url: URL): void {
    const byId = new Map(this.estate.directoryObjects.map((o) => [o.id.toLowerCase(), o]));
    const group = byId.get(groupId.toLowerCase());
    if (!group || !isGroup(group))
      return graphError(res, 404, "Request_ResourceNotFound", `Resource '${groupId}' does not exist.`);
    const found: DirectoryObject[] = [];
    const seen = new Set<string>([group.id.toLowerCase()]);
    const visit = (g: DirectoryObject) => {
      for (const id of (g as { members?: string[] }).members ?? []) {
        const member = byId.get(id.toLowerCase());
        if (!member || seen.has(member.id.toLowerCase())) continue;
        seen.add(member.id.toLowerCase());
        found.push(member);
        if (isGroup(member)) visit(member);
      }
    };
    visit(group);
    const pageSize = this.options.memberPageSize ?? DEFAULT_MEMBER_PAGE;
    const start = Number(url.searchParams.get("$skiptoken") ?? "0") || 0;
    const page = found.slice(start, start + pageSize);
    const body: Record<string, unknown> = {
      "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
      value: page.map((o) => shaped(o, selectOf(url), true, this.omit)),
    };
    if (start + pageSize < found.length) {
      const next = new URL(url.toString());
      next.searchParams.set("$skiptoken", String(start + pageSize));
      body["@odata.nextLink"] = `https://${req.headers.host}${next.pathname}${next.search}`;
    }
    send(res, 200, body);
  }

  /**
   * `findTenantInformationByDomainName(domainName='…')`: the tenant one of whose domains it is
   * (learn.microsoft.com/graph/api/tenantrelationship-findtenantinformationbydomainname;
   * CrossTenantInformation.ReadBasic.All). The estate's tenants know their default domain and
   * optionally `domains[]`.
   */
  private tenantByDomain(res: ServerResponse, domain: string): void {
    const wanted = domain.toLowerCase();
    const tenant = this.estate.tenants.find(
      (t) =>
        t.defaultDomainName?.toLowerCase() === wanted ||
        (t.domains ?? []).some((d) => d.toLowerCase() === wanted),
    );
    if (!tenant)
      return graphError(res, 404, "Request_ResourceNotFound", `No tenant holds the domain '${domain}'.`);
    send(res, 200, {
      "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.tenantInformation",
      tenantId: tenant.tenantId,
      displayName: tenant.displayName,
      defaultDomainName: tenant.defaultDomainName ?? null,
      federationBrandName: null,
    });
  }
}
