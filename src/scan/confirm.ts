import { idKey } from "../azure/resource-id";
import type { AllowlistEntry } from "../allowlist/entry";
import { getPeering } from "../azure/arm-network";
import type { AzureConnection } from "../azure/connection";
import type { TenantCache } from "../azure/tenant-cache";
import type { Config } from "../config";
import { errorMessage } from "../errors";
import type { Logger } from "../log";
import { mapLimit } from "../map-limit";
import type { Finding } from "../scanners/findings";
import type { StoredFinding } from "../findings/reconcile";
import { classifyArmRows, rowOfArmPeering, tenantResolverFor } from "../scanners/peering/arm";

/** ARM reads in flight while confirming one scan's new violations. */
export const CONFIRM_CONCURRENCY = 8;

/** Whether reconciling this finding would raise a violation alert (new, reopened, or newly not allowed). */
export function isNewViolation(finding: Finding, stored: ReadonlyMap<string, StoredFinding>): boolean {
  if (finding.status !== "violation") return false;
  const before = stored.get(finding.id);
  return !before || before.state === "resolved" || before.state === "allowed";
}

export interface ConfirmOptions {
  connection: AzureConnection;
  config: Config;
  allowlist: AllowlistEntry[];
  tenantCache: TenantCache;
  now: Date;
  log: Logger;
}

/**
 * Reads each new peering violation from ARM before it is alerted, since Resource Graph can lag
 * ARM without bound. A peering ARM no longer has is dropped; one that changed (points elsewhere,
 * another state) is judged again from ARM's answer; each correction is logged. A confirmation
 * that fails never suppresses the alert: the finding goes on, marked "unconfirmed".
 */
export async function confirmNewViolations(
  findings: readonly Finding[],
  stored: ReadonlyMap<string, StoredFinding>,
  options: ConfirmOptions,
): Promise<Finding[]> {
  const { log } = options;
  const tenants = tenantResolverFor(options.connection, options.config, log, options.tenantCache);
  const confirmed = await mapLimit(findings, CONFIRM_CONCURRENCY, async (finding): Promise<Finding[]> => {
    // Only peerings are read from ARM; the other checks' findings go on as Resource Graph showed them.
    if (finding.kind !== "vnet-peering" || !isNewViolation(finding, stored)) return [finding];
    try {
      const peering = await getPeering(options.connection, finding.resourceId);
      if (!peering) {
        log("info", "finding-corrected", {
          findingId: finding.id,
          resourceId: finding.resourceId,
          correction: "ARM no longer has this peering; Resource Graph showed an older state",
        });
        return [];
      }
      const row = rowOfArmPeering(finding.localVnetId, finding.localTenantId, peering, 1);
      const [judged] = await classifyArmRows(
        [row],
        tenants,
        options.allowlist,
        options.config,
        options.now,
        log,
      );
      if (!judged || idKey(judged.remoteVnetId) !== idKey(finding.remoteVnetId)) {
        log("info", "finding-corrected", {
          findingId: finding.id,
          resourceId: finding.resourceId,
          correction: judged
            ? `ARM says it points to ${judged.remoteVnetId}, not ${finding.remoteVnetId}`
            : "ARM says it now points to a network in the same tenant",
        });
      }
      return judged ? [judged] : [];
    } catch (error) {
      log("warn", "confirmation-failed", {
        findingId: finding.id,
        reason: errorMessage(error),
        next: "alerted as unconfirmed",
      });
      return [{ ...finding, confirmation: "unconfirmed" as const }];
    }
  });
  return confirmed.flat();
}

/**
 * Of the stored peering findings a full scan did not see, the ids ARM confirms gone: a 404, or a
 * peering that now points to another remote VNet. Resource Graph can lag ARM without bound, so a
 * peering ARM still has keeps its finding (logged "resolution-withheld"), and one ARM could not be
 * asked about is kept too: resolved means looked at and gone.
 */
export async function confirmResolutions(
  candidates: readonly Finding[],
  options: Pick<ConfirmOptions, "connection" | "log">,
): Promise<Set<string>> {
  const { log } = options;
  const gone = await mapLimit(candidates, CONFIRM_CONCURRENCY, async (finding): Promise<boolean> => {
    if (finding.kind !== "vnet-peering") return true;
    try {
      const peering = await getPeering(options.connection, finding.resourceId);
      if (!peering) return true;
      if (idKey(peering.remoteVnetId) !== idKey(finding.remoteVnetId)) return true;
      log("info", "resolution-withheld", {
        findingId: finding.id,
        resourceId: finding.resourceId,
        reason: "ARM still has this peering; Resource Graph does not show it yet",
      });
      return false;
    } catch (error) {
      log("warn", "resolution-unconfirmed", {
        findingId: finding.id,
        reason: errorMessage(error),
        next: "kept as it is; the next scan asks ARM again",
      });
      return false;
    }
  });
  return new Set(candidates.filter((_, i) => gone[i]).map((f) => f.id));
}
