/** The parts of an ARM resource id that the scanner needs. Ids keep their casing; compare them lower-cased. */
export interface ResourceIdParts {
  subscriptionId: string;
  resourceGroup: string | null;
  /** Last segment: the resource's own name. */
  name: string;
}

export function parseResourceId(id: string): ResourceIdParts | null {
  const segments = id.split("/").filter((s) => s.length > 0);
  if (segments.length < 2 || segments[0]!.toLowerCase() !== "subscriptions") return null;
  const rgIndex = segments.findIndex((s) => s.toLowerCase() === "resourcegroups");
  return {
    subscriptionId: segments[1]!,
    resourceGroup: rgIndex > 0 ? (segments[rgIndex + 1] ?? null) : null,
    name: segments[segments.length - 1]!,
  };
}

/** The resource's own name, or the whole id when it is not an ARM id. */
export const nameOf = (id: string): string => parseResourceId(id)?.name ?? id;
