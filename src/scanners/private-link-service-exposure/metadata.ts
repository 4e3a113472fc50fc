import { nameOf, parseResourceId } from "../../azure/resource-id";
import type { CheckMetadata } from "../finding";
import type { PrivateLinkServiceExposureFinding } from "./finding";

export const PRIVATE_LINK_SERVICE_EXPOSURE_CHECK: CheckMetadata<PrivateLinkServiceExposureFinding> = {
  id: "private-link-service-exposure",
  title: "Private link service open to another Entra ID tenant",
  noun: "private link service open to another tenant",
  risk:
    "A subscription in a private link service's visibility list can find the service and request a private " +
    "endpoint to it; one in its auto-approval list gets connected with no human in the loop. `*` means any " +
    "subscription of any tenant.",
  remediation: {
    text:
      "Confirm with the service's owner which subscriptions should reach it. If this one should, add an allowlist " +
      "entry with kinds: [private-link-service-exposure] (by tenant, or by the service's id as remoteResourceId " +
      "for `*`), owner, reason and expiry. If not, remove it from the visibility and auto-approval lists.",
    portal: "Azure portal > Private Link Center > Private link services > (the service) > Properties.",
  },
  relatedUrl: "https://learn.microsoft.com/azure/private-link/private-link-service-overview",
  state: (f) => f.setting,
  local: (f) => nameOf(f.resourceId),
  remote: (f) => f.subscriptions.join(", "),
  facts: (f) => [
    ["Private link service", nameOf(f.resourceId)],
    ["Setting", f.setting],
    ["Subscriptions", f.subscriptions],
  ],
  portalLink: (f, portalUrl) => ({
    title: "Open the private link service in Azure portal",
    url: `${portalUrl.replace(/\/+$/, "")}/#@${f.localTenantId}/resource${f.resourceId}/overview`,
  }),
  // `--visibility` and `--auto-approval` replace the lists: name the subscriptions that stay.
  command: (f) =>
    `az network private-link-service update --name ${nameOf(f.resourceId)} ` +
    `--resource-group ${parseResourceId(f.resourceId)?.resourceGroup ?? "<resource-group>"} ` +
    `--visibility <subscriptions that stay> --auto-approval <subscriptions that stay>`,
  resolvedTitle: (f) =>
    `Private link service '${nameOf(f.resourceId)}' no longer lists ${f.subscriptions.join(", ")} ` +
    `(removed, or now same-tenant).`,
  material: (f) => [f.setting, f.subscriptions, f.severity],
  csvFields: ["setting", "subscriptions"],
};
