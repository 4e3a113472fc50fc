import type { FindingState } from "../../findings/reconcile";
import type { CrossTenantAccessPolicyFinding } from "./finding";
import { SETTING_LABELS } from "./settings";

/**
 * The title of the alert a changed setting raises: "Inbound B2B collaboration was opened: …" when
 * it stopped meeting its baseline, "… was closed" when it started to, "… changed" otherwise.
 */
export function driftTitle(
  finding: CrossTenantAccessPolicyFinding,
  previous: FindingState | undefined,
): string {
  const label = SETTING_LABELS[finding.setting.split(".")[0]!] ?? finding.setting;
  const where =
    finding.remoteTenantId === null
      ? finding.resourceId.endsWith("/default")
        ? "the default cross-tenant access policy"
        : "the authorization policy"
      : `partner ${finding.remoteTenantName ?? finding.remoteTenantId}`;
  const now = `${finding.setting} is now ${finding.accessType}${finding.targets.length > 0 ? ` (${finding.targets.join(", ")})` : ""}`;
  const open = finding.status !== "allowed";
  const wasOpen = previous === "open" || previous === "expired-exception";
  if (open && !wasOpen)
    return `${label} was opened in ${where}: ${now}; ${finding.baseline} expects ${finding.expected}.`;
  if (!open && wasOpen) return `${label} was closed in ${where}: ${now}, as ${finding.baseline} expects.`;
  return `${label} changed in ${where}: ${now}.`;
}
