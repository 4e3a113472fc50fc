import type { ScanReport } from "../../src/findings/report";
import { findingId } from "../../src/scanners/finding";
import { guid } from "./estate-builder";

/**
 * A report of `findings` findings spread over `tenants` other tenants, made from a real scan's
 * findings (every kind and shape the scan gave), each copy with its own resource, id and tenant.
 */
export function largeReport(base: ScanReport, findings: number, tenants: number): ScanReport {
  const kinds = base.findings.filter((f) => f.relation === "cross-tenant" && f.remoteTenantId);
  const many = Array.from({ length: findings }, (_, i) => {
    const f = kinds[i % kinds.length]!;
    const tenant = i % tenants;
    const resourceId = `${f.resourceId}-${i}`;
    return {
      ...f,
      id: findingId(f.kind, resourceId),
      resourceId,
      remoteTenantId: guid(tenant + 1, "7e"),
      remoteTenantName: `Partner ${tenant + 1}`,
      severity: (["high", "medium", "low"] as const)[i % 3]!,
    };
  });
  const violations = many.filter((f) => f.status !== "allowed").length;
  return {
    ...base,
    scanId: `${base.scanId}-large`,
    findings: many,
    stats: { ...base.stats, findings: many.length, violations, allowed: many.length - violations },
  };
}
