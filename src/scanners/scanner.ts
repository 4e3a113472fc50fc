import type { AllowlistEntry } from "../allowlist/entry";
import type { QueryAll, QueryTenant } from "../azure/resource-graph";
import type { DirectoryObjects } from "../azure/directory-objects";
import type { PolicyReader } from "../azure/entra-policies";
import type { TenantResolver } from "../azure/tenants";
import type { Config } from "../config";
import type { Logger } from "../log";
import type { CheckMetadata, CommonFinding } from "./finding";
import type { Finding } from "./findings";

/** Something the scan could not read; any such error makes the scan incomplete. */
export interface ScanError {
  source: string;
  message: string;
}

export interface ScanContext {
  queryAll: QueryAll;
  /** The same over the whole tenant, for what no subscription holds (built-in role definitions). */
  queryTenant?: QueryTenant;
  /**
   * The subscription groups queries go out in, when they do (past Resource Graph's 10,000-subscription
   * cut-off, or a long SCAN_SUBSCRIPTIONS list); null while one request covers the scope. Each group
   * is then its own request scope, so a join on `resourcecontainers` sees only that group.
   */
  subscriptionGroups?: () => string[][] | null;
  tenants: TenantResolver;
  /** Microsoft Graph's directory objects, for checks that judge principals. */
  directory: DirectoryObjects;
  allowlist: AllowlistEntry[];
  config: Config;
  now: Date;
  log: Logger;
  /** The scanner's own tenant (the `tid` of its token). */
  homeTenantId?: string;
  /** Microsoft Graph's cross-tenant access and authorization policies (Policy.Read.All). */
  policies?: PolicyReader;
}

export interface ScannerResult {
  findings: Finding[];
  /** What the check looked at, by the report's stats names (virtualNetworks, peerings, …). */
  counts: Partial<Record<CountName, number>>;
  errors: ScanError[];
  /**
   * Why the check did not run, when an optional permission is missing. Not an error: the scan
   * stays complete, but the check's stored findings are neither confirmed nor resolved.
   */
  skipped?: string;
  /**
   * What the check could not decide, each naming why (a field Graph left out, a role definition
   * not visible, a group whose members were not all read). Its findings are kept `unresolved`;
   * the check is reported `degraded`.
   */
  degraded?: string[];
}

export const COUNT_NAMES = [
  "virtualNetworks",
  "peerings",
  "privateEndpoints",
  "privateEndpointConnections",
  "roleAssignments",
  "crossTenantAccessPartners",
] as const;
export type CountName = (typeof COUNT_NAMES)[number];

/** One check (exposure vector): inventory from Resource Graph, then classification into findings. */
export interface Scanner {
  check: CheckMetadata<CommonFinding>;
  scan(context: ScanContext): Promise<ScannerResult>;
}
