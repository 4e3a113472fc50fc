/**
 * The key by which Azure ids (resource ids, subscription, tenant and management group ids) are
 * compared and stored: ordinal and case-insensitive on ASCII letters only, as ARM compares them.
 * JavaScript's toLowerCase() also folds non-ASCII letters (KELVIN SIGN U+212A to `k`, `İ` to
 * `i̇`), which would make a look-alike id that ARM treats as another resource equal to a real one.
 */
export const idKey = (id: string): string => id.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());

/** Two Azure ids name the same thing (see idKey). */
export const sameId = (a: string, b: string): boolean => idKey(a) === idKey(b);

/** The parts of an ARM resource id that the scanner needs. Ids keep their casing; compare them with idKey. */
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
