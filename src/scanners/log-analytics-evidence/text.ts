import type { CommonFinding, SignInSummary } from "../finding";

/** "P30D" -> "30 days"; other ISO 8601 durations as given. */
export function windowText(window: string): string {
  const days = window.match(/^P(\d+)D$/i);
  if (days) return `${days[1]} day${days[1] === "1" ? "" : "s"}`;
  const hours = window.match(/^PT(\d+)H$/i);
  return hours ? `${hours[1]} hour${hours[1] === "1" ? "" : "s"}` : window;
}

const day = (iso: string) => iso.slice(0, 10);

type Named = Pick<CommonFinding, "evidence" | "remoteTenantId" | "remoteTenantName" | "localTenantId">;

/** The other tenant as the finding names it, "this tenant", or the id. */
function tenantText(finding: Named, tenantId: string | null) {
  if (tenantId === null) return "an unknown tenant";
  if (tenantId.toLowerCase() === finding.localTenantId.toLowerCase()) return "this tenant";
  return finding.remoteTenantId?.toLowerCase() === tenantId.toLowerCase() && finding.remoteTenantName
    ? finding.remoteTenantName
    : tenantId;
}

function signInText(summary: SignInSummary, direction: string): string {
  return `${summary.count} sign-in${summary.count === 1 ? "" : "s"} ${direction} in ${windowText(summary.window)}`;
}

/**
 * The evidence of a finding in plain words, one phrase each: "created by Mallory (Tenant A) on
 * 2026-11-02", "14 sign-ins from Tenant A in 30 days", "2 sign-ins to Tenant A in 30 days".
 * Empty when the finding carries none.
 */
export function evidencePhrases(finding: Named): {
  createdBy?: string;
  signIns?: string;
  outboundSignIns?: string;
} {
  const evidence = finding.evidence;
  if (!evidence) return {};
  const out: { createdBy?: string; signIns?: string; outboundSignIns?: string } = {};
  const creator = evidence.createdBy;
  if (creator) {
    const home = creator.homeTenantId ? ` (${tenantText(finding, creator.homeTenantId)})` : "";
    out.createdBy = `created by ${creator.principalName ?? creator.principalId}${home} on ${day(creator.at)}`;
  }
  const other = tenantText(finding, finding.remoteTenantId);
  if (evidence.signIns) out.signIns = signInText(evidence.signIns, `from ${other}`);
  // Ours going out is told when it happened; "none" would only lengthen every line.
  if (evidence.outboundSignIns && evidence.outboundSignIns.count > 0)
    out.outboundSignIns = signInText(evidence.outboundSignIns, `to ${other}`);
  return out;
}

/** The phrases joined: "created by Mallory (Tenant A) on 2026-11-02; 14 sign-ins from Tenant A in 30 days". */
export function evidenceSentence(finding: Named): string {
  const p = evidencePhrases(finding);
  return [p.createdBy, p.signIns, p.outboundSignIns].filter((x): x is string => Boolean(x)).join("; ");
}
