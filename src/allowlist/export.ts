import { Document, Scalar } from "yaml";
import type { AllowlistEntry } from "./entry";

export const EXPORT_FORMATS = ["yaml", "json"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The fields of an allowlist entry in the order an exported file lists them. */
export const ENTRY_FIELDS = [
  "id",
  "tenantId",
  "subscriptionId",
  "remoteVnetId",
  "remoteResourceId",
  "principalId",
  "kinds",
  "localScope",
  "expiresOn",
  "owner",
  "reason",
  "ticket",
] as const satisfies readonly (keyof AllowlistEntry)[];

/** Ids, GUIDs and dates are double-quoted so that no YAML reader takes them for numbers or dates. */
const QUOTED: ReadonlySet<string> = new Set([
  "tenantId",
  "subscriptionId",
  "remoteVnetId",
  "remoteResourceId",
  "principalId",
  "localScope",
  "expiresOn",
]);

/** Just the file's fields, in canonical order: stored-only fields such as createdAt are dropped. */
export function canonicalEntry(entry: AllowlistEntry): AllowlistEntry {
  const out: Partial<Record<keyof AllowlistEntry, unknown>> = {};
  for (const field of ENTRY_FIELDS) {
    if (entry[field] !== undefined) out[field] = entry[field];
  }
  return out as AllowlistEntry;
}

/** Code-unit order, not localeCompare: the same bytes on every machine. */
export const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function yamlEntry(entry: AllowlistEntry): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(entry).map(([field, value]: [string, unknown]) => {
      if (!QUOTED.has(field)) return [field, value];
      const scalar = new Scalar(value);
      scalar.type = Scalar.QUOTE_DOUBLE;
      return [field, scalar];
    }),
  );
}

/**
 * Writes entries as an allowlist file that parseAllowlist reads back to the same entries.
 * The output depends only on the entries, so exporting it again gives the same bytes.
 */
export function exportAllowlist(entries: AllowlistEntry[], format: ExportFormat = "yaml"): string {
  const sorted = [...entries].sort(byId).map(canonicalEntry);
  if (format === "json") return JSON.stringify({ schemaVersion: 1, entries: sorted }, null, 2) + "\n";
  const document = new Document({ schemaVersion: 1, entries: sorted.map(yamlEntry) });
  // lineWidth 0: long reasons and resource ids stay on one line instead of being folded.
  return document.toString({ lineWidth: 0 });
}
