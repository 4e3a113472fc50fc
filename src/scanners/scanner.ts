import type { AllowlistEntry } from "../allowlist/entry";
import type { QueryAll } from "../azure/resource-graph";
import type { TenantResolver } from "../azure/tenants";
import type { Config } from "../config";
import type { Logger } from "../log";
import type { PeeringFinding } from "./peering/finding";

/** Something the scan could not read; any such error makes the scan incomplete. */
export interface ScanError {
  source: string;
  message: string;
}

export interface ScanContext {
  queryAll: QueryAll;
  tenants: TenantResolver;
  allowlist: AllowlistEntry[];
  config: Config;
  now: Date;
  log: Logger;
}

export interface ScannerResult {
  findings: PeeringFinding[];
  counts: { virtualNetworks: number; peerings: number };
  errors: ScanError[];
}

/** One exposure vector: inventory from Resource Graph, then classification into findings. */
export interface Scanner {
  id: string;
  title: string;
  scan(context: ScanContext): Promise<ScannerResult>;
}
