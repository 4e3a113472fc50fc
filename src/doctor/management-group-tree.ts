import { descendantsUrl } from "../azure/management-groups";
import { treeRoots } from "../azure/scope-plan";
import type { DoctorCheck } from "./check";
import type { ProbeContext } from "./probes";

/**
 * Whether the identity can read the management group tree (ARM's Get Descendants, api-version
 * 2020-05-01), which a scan past Resource Graph's 10,000-subscription cut-off uses to send its
 * queries over every subscription by whole management groups. Without it those queries go by
 * subscription groups: complete, at more requests. Reads the first page only.
 */
export async function managementGroupTreeCheck(context: ProbeContext): Promise<DoctorCheck> {
  const id = "management-group-tree";
  const roots = treeRoots(context.scope, context.identity.tenantId);
  if (context.config.MANAGEMENT_GROUP_SCOPE_LIMIT === 0 || roots.length === 0) {
    return {
      id,
      status: "ok",
      detail:
        roots.length === 0
          ? "SCAN_SUBSCRIPTIONS names the subscriptions: the management group tree is not used."
          : "MANAGEMENT_GROUP_SCOPE_LIMIT is 0: past the cut-off every query goes by subscription groups.",
      fix: "",
    };
  }
  const denied: { root: string; status: number }[] = [];
  for (const root of roots) {
    const response = await context
      .get(descendantsUrl(context.connection, root), { scope: `${context.connection.armEndpoint}/.default` })
      .catch(() => ({ status: 0 }));
    if (response.status !== 200) denied.push({ root, status: response.status });
  }
  if (denied.length === 0) {
    return {
      id,
      status: "ok",
      detail: `Azure Resource Manager answers the management group tree under ${roots.join(", ")}: past the 10,000-subscription cut-off, queries over every subscription go by whole management groups.`,
      fix: "",
    };
  }
  return {
    id,
    status: "warn",
    detail:
      `Azure Resource Manager did not answer the management group tree under ${denied.map((d) => `${d.root} (${d.status || "no answer"})`).join(", ")}. ` +
      "This matters only past Resource Graph's 10,000-subscription cut-off: scans stay complete, but there each query over every subscription takes one request per subscription group instead of one per management group.",
    fix: `az role assignment create --assignee ${context.identity.objectId ?? "<scanner-object-id>"} --role Reader --scope /providers/Microsoft.Management/managementGroups/${denied[0]!.root}`,
  };
}
