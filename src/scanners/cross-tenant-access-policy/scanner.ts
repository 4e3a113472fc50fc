import { errorMessage } from "../../errors";
import { GUID_PATTERN } from "../../validation";
import { rulesOf, tenantNames } from "../judge";
import type { Scanner, ScanContext, ScanError, ScannerResult } from "../scanner";
import { classifyPolicies } from "./classify";
import { CROSS_TENANT_ACCESS_POLICY_CHECK } from "./metadata";

/**
 * Reads the tenant's cross-tenant access policy (default and partners) and authorization policy
 * from Microsoft Graph and judges each setting that decides who from another tenant may come in.
 * Without Policy.Read.All the check is skipped and named, never an error.
 */
async function scanPolicies(context: ScanContext): Promise<ScannerResult> {
  const source = CROSS_TENANT_ACCESS_POLICY_CHECK.id;
  if (!context.policies || !context.homeTenantId)
    return {
      findings: [],
      counts: {},
      errors: [],
      skipped: "this scan has no Microsoft Graph policy reader",
    };
  let answer;
  try {
    answer = await context.policies.read();
  } catch (error) {
    return { findings: [], counts: {}, errors: [{ source, message: errorMessage(error) }] };
  }
  if ("denied" in answer) return { findings: [], counts: {}, errors: [], skipped: answer.denied };

  const errors: ScanError[] = answer.unreadable.map((message) => ({ source, message }));
  const partnerIds = [
    ...new Set(answer.partners.map((p) => p.tenantId.toLowerCase()).filter((id) => GUID_PATTERN.test(id))),
  ];
  const named = await tenantNames(partnerIds, context);
  const { findings, problems } = classifyPolicies({
    policies: answer,
    homeTenantId: context.homeTenantId,
    tenantNames: new Map(named.map((t) => [t.tenantId!, t.tenantName])),
    rules: rulesOf(context),
  });
  for (const message of problems) errors.push({ source, message });
  return { findings, counts: { crossTenantAccessPartners: answer.partners.length }, errors };
}

export const crossTenantAccessPolicyScanner: Scanner = {
  check: CROSS_TENANT_ACCESS_POLICY_CHECK,
  scan: scanPolicies,
};
