import { idKey } from "./resource-id";
import { errorMessage } from "../errors";
import type { Logger } from "../log";
import { cleanText, MAX_NAME_LENGTH } from "../text";
import { GUID_PATTERN } from "../validation";
import type { AzureConnection } from "./connection";
import type { AzureGet } from "./http";
import type { TenantCache } from "./tenant-cache";

/** `Bearer authorization_uri="https://login.windows.net/<tenant>", error=...` */
export function tenantFromWwwAuthenticate(header: string | undefined): string | null {
  const match = header?.match(
    /authorization_uri="https:\/\/[^"/]+\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i,
  );
  return match ? idKey(match[1]!) : null;
}

export interface TenantResolverOptions {
  connection: AzureConnection;
  get: AzureGet;
  cache: TenantCache;
  /** subscription id (lower-case) -> tenant id, from what the scan already read (Resource Graph, ARM's list). */
  known: Map<string, string>;
  namesFromGraph: boolean;
  log: Logger;
}

/**
 * Finds the tenant of any subscription, in layers: the scanner's own inventory; then the cache;
 * then Azure Resource Manager, whose unauthenticated 401 names the subscription's tenant. What
 * none of them knows stays `null` (unresolved), never a guess.
 */
export class TenantResolver {
  private graphDenied = false;

  constructor(private readonly options: TenantResolverOptions) {}

  /** Records a tenant the scan read from Azure itself (Resource Graph's join, ARM's subscription list). */
  learn(subscriptionId: string, tenantId: string): void {
    this.options.known.set(idKey(subscriptionId), idKey(tenantId));
  }

  /**
   * The tenant of a subscription where the scan already knows it (ARM's subscription list, Resource
   * Graph's join) or the tenant cache holds it, without asking Azure; undefined when neither does.
   */
  async tenantIfKnown(subscriptionId: string): Promise<string | null | undefined> {
    const key = idKey(subscriptionId);
    const known = this.options.known.get(key);
    if (known) return known;
    if (!GUID_PATTERN.test(subscriptionId)) return undefined;
    return (await this.options.cache.get(`subscription:${key}`))?.value;
  }

  async tenantOfSubscription(subscriptionId: string): Promise<string | null> {
    const key = idKey(subscriptionId);
    const known = this.options.known.get(key);
    if (known) return known;
    if (!GUID_PATTERN.test(subscriptionId)) return null;
    return this.cached(`subscription:${key}`, () => this.askArm(subscriptionId));
  }

  /**
   * The tenant's display name from Microsoft Graph, or null where Graph does not say. That tenant's
   * administrator writes it: it is cleaned here, where it enters, also when it comes from the cache.
   */
  async tenantName(tenantId: string): Promise<string | null> {
    // A tenant id that is not a GUID (a crafted appOwnerOrganizationId, say) goes into no URL and no key.
    if (!this.options.namesFromGraph || this.graphDenied || !GUID_PATTERN.test(tenantId)) return null;
    const name = await this.cached(`tenant-name:${idKey(tenantId)}`, () => this.askGraph(tenantId));
    return name === null ? null : cleanText(name, MAX_NAME_LENGTH);
  }

  /**
   * The tenant that holds a domain (an external user's home, from their `#EXT#` UPN or mail), from
   * Graph's `findTenantInformationByDomainName` (CrossTenantInformation.ReadBasic.All), cached like
   * tenant names; null where Graph knows no tenant for it (a consumer mail domain) or may not be asked.
   */
  async tenantOfDomain(domain: string): Promise<string | null> {
    const key = idKey(domain);
    if (!this.options.namesFromGraph || this.graphDenied || !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(key))
      return null;
    const tenant = await this.cached(`tenant-of-domain:${key}`, () => this.askGraphForDomain(key));
    return tenant !== null && GUID_PATTERN.test(tenant) ? idKey(tenant) : null;
  }

  /** Looks up through the cache; a lookup that failed (rather than found nothing) is not cached. */
  private async cached(
    key: string,
    lookup: () => Promise<string | null | undefined>,
  ): Promise<string | null> {
    const hit = await this.options.cache.get(key);
    if (hit) return hit.value;
    const value = await lookup();
    if (value === undefined) return null;
    await this.options.cache.set(key, value);
    return value;
  }

  /** Throws when Azure Resource Manager could not be asked; `null` when it does not know the subscription. */
  private async askArm(subscriptionId: string): Promise<string | null> {
    const url = `${this.options.connection.armEndpoint}/subscriptions/${subscriptionId}?api-version=2022-12-01`;
    let response;
    try {
      response = await this.options.get(url);
    } catch (error) {
      throw new Error(
        `Could not ask Azure Resource Manager for the tenant of subscription ${subscriptionId}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    if (response.status === 401) return tenantFromWwwAuthenticate(response.headers.get("www-authenticate"));
    if (response.status === 404) return null;
    throw new Error(
      `Azure Resource Manager answered ${response.status} when asked for the tenant of subscription ${subscriptionId}.`,
    );
  }

  private async askGraphForDomain(domain: string): Promise<string | null | undefined> {
    const graph = this.options.connection.graphEndpoint;
    const url = `${graph}/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='${domain}')`;
    try {
      const response = await this.options.get(url, { scope: `${graph}/.default` });
      if (response.status === 200) {
        const body: unknown = JSON.parse(response.bodyAsText ?? "{}");
        const id = typeof body === "object" && body !== null && "tenantId" in body ? body.tenantId : null;
        return typeof id === "string" && GUID_PATTERN.test(id) ? idKey(id) : null;
      }
      if (response.status === 404) return null;
      if (response.status === 401 || response.status === 403) {
        this.graphDenied = true;
        this.options.log("warn", "tenant-names-unavailable", {
          reason: `Microsoft Graph answered ${response.status}; grant CrossTenantInformation.ReadBasic.All to find external users' home tenants and tenant names`,
        });
        return undefined;
      }
      this.options.log("warn", "tenant-domain-lookup-failed", { domain, status: response.status });
      return undefined;
    } catch (error) {
      this.options.log("warn", "tenant-domain-lookup-failed", { domain, error: errorMessage(error) });
      return undefined;
    }
  }

  private async askGraph(tenantId: string): Promise<string | null | undefined> {
    const graph = this.options.connection.graphEndpoint;
    const url = `${graph}/v1.0/tenantRelationships/findTenantInformationByTenantId(tenantId='${tenantId}')`;
    try {
      const response = await this.options.get(url, { scope: `${graph}/.default` });
      if (response.status === 200) {
        const body: unknown = JSON.parse(response.bodyAsText ?? "{}");
        const name =
          typeof body === "object" && body !== null && "displayName" in body ? body.displayName : null;
        // That tenant's administrator writes the name: cleaned and bounded before it is cached.
        return typeof name === "string" && name.length > 0 ? cleanText(name, MAX_NAME_LENGTH) : null;
      }
      if (response.status === 404) return null;
      if (response.status === 401 || response.status === 403) {
        this.graphDenied = true;
        this.options.log("warn", "tenant-names-unavailable", {
          reason: `Microsoft Graph answered ${response.status}; grant CrossTenantInformation.ReadBasic.All to show tenant names`,
        });
        return undefined;
      }
      this.options.log("warn", "tenant-name-lookup-failed", { tenantId, status: response.status });
      return undefined;
    } catch (error) {
      this.options.log("warn", "tenant-name-lookup-failed", { tenantId, error: errorMessage(error) });
      return undefined;
    }
  }
}
