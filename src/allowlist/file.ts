import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { InputError, errorMessage } from "../errors";
import { describeIssues } from "../validation";
import { allowlistEntryInputSchema, withId, type AllowlistEntry } from "./entry";

const allowlistFileSchema = z.strictObject({
  schemaVersion: z.literal(1, { message: "must be 1" }),
  entries: z.array(allowlistEntryInputSchema),
});

/** JSON Schema source for schemas/allowlist.schema.json. */
export const ALLOWLIST_FILE_SCHEMA = allowlistFileSchema;

/**
 * Parses an allowlist file (JSON or YAML; JSON is YAML). All entries are valid or none is
 * returned: every problem is reported by entry index and field.
 */
export function parseAllowlist(text: string, source: string): AllowlistEntry[] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new InputError(`${source} is neither JSON nor YAML: ${errorMessage(error)}`);
  }
  const result = allowlistFileSchema.safeParse(data);
  if (!result.success)
    throw new InputError(`${source} is not a valid allowlist file:`, describeIssues(result.error));
  const entries = result.data.entries.map(withId);
  const seen = new Map<string, number>();
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    const first = seen.get(entry.id);
    if (first !== undefined)
      problems.push(`$.entries[${index}].id: "${entry.id}" is already used by entries[${first}]`);
    else seen.set(entry.id, index);
  });
  if (problems.length > 0) throw new InputError(`${source} is not a valid allowlist file:`, problems);
  return entries;
}

export async function readAllowlistFile(path: string): Promise<AllowlistEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InputError(`Cannot read allowlist file ${path}: ${errorMessage(error)}`);
  }
  return parseAllowlist(text, path);
}
