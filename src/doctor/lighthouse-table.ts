import { z } from "zod";
import { isRestError } from "@azure/core-rest-pipeline";
import { errorMessage } from "../errors";
import { cleanText } from "../text";
import type { DoctorCheck } from "./check";
import { probeRunner, type ProbeContext } from "./probes";

/**
 * Lighthouse registration assignments, counted where the principal check reads them: Resource
 * Graph's `managedserviceresources` table (supported-tables-resources, "managedserviceresources").
 * A table can be missing from a cloud's Resource Graph (sovereign clouds lag the public one), and
 * then every scan leaves delegations unjudged and is incomplete.
 */
export const LIGHTHOUSE_TABLE_QUERY = `managedserviceresources
| where type =~ 'microsoft.managedservices/registrationassignments'
| summarize assignments = count()`;

/**
 * Whether Resource Graph answers the table Lighthouse delegations are read from. Asked over the
 * tenant with partial scopes allowed, so a tenant past the 10,000-subscription cut-off still
 * answers (the scan itself reads the table per subscription group).
 */
export async function lighthouseTableCheck(context: ProbeContext): Promise<DoctorCheck> {
  const id = "lighthouse-delegations";
  const runner = probeRunner(context);
  try {
    const { rows } = await runner.queryTenant(
      "Lighthouse registration assignments",
      LIGHTHOUSE_TABLE_QUERY,
      z.object({ assignments: z.number().int() }),
    );
    const count = rows.reduce((n, row) => n + row.assignments, 0);
    return {
      id,
      status: "ok",
      detail: `Resource Graph answers managedserviceresources: ${count} Lighthouse registration assignment(s) visible over the tenant.`,
      fix: "",
    };
  } catch (error) {
    const status = isRestError(error) ? error.statusCode : undefined;
    return {
      id,
      status: "fail",
      detail:
        `Resource Graph did not answer managedserviceresources${status ? ` (HTTP ${status})` : ""}: ` +
        `${cleanText(errorMessage(error), 300)}. Lighthouse delegations would not be judged and every scan would be incomplete.`,
      fix:
        status === 401 || status === 403
          ? `az role assignment create --assignee ${context.identity.objectId ?? "<scanner-object-id>"} --role Reader --scope <the scanned management group or subscription>`
          : "Check that this cloud's Resource Graph serves the managedserviceresources table (Resource Graph Explorer lists its tables).",
    };
  }
}
