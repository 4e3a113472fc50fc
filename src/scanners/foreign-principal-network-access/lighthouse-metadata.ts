import type { FindingFact } from "../finding";
import type { ForeignPrincipalFinding } from "./finding";

/** A Lighthouse delegation's own facts for cards: the managing tenant and the registration definition. */
export function lighthouseFacts(f: ForeignPrincipalFinding): FindingFact[] {
  if (f.principalKind !== "lighthouse-delegation") return [];
  return [
    ["Managing tenant", f.managedByTenantId ?? "unknown"],
    ["Registration definition", f.registrationDefinitionId ?? "unknown"],
  ];
}

/** Removes the delegation (every authorization of its definition) from the delegated scope. */
export function lighthouseCommand(f: ForeignPrincipalFinding): string {
  const name = f.resourceId.split("/").pop() ?? f.resourceId;
  const subscription = f.localSubscriptionId;
  const group = /\/resourceGroups\/([^/]+)/i.exec(f.scope)?.[1];
  return (
    `az managedservices assignment delete --assignment ${name} --subscription ${subscription}` +
    (group ? ` --resource-group ${group}` : "")
  );
}
