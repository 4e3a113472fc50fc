import { readFile, stat } from "node:fs/promises";
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

/** Far above any real allowlist (an entry at its longest is under 4 KB). */
export const MAX_ALLOWLIST_BYTES = 4 * 1024 * 1024;
/** Allowlists need two levels of `[`/`{`; the YAML parser's time and memory grow steeply with depth. */
const MAX_FLOW_DEPTH = 32;

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\r" || c === "\n";

/**
 * Whether `[` and `{` nest deeper than `max` outside quoted text and comments: a cheap linear
 * look before the YAML parser, which took seconds and gigabytes on a few megabytes of `[[[`. It
 * stops at the first level too deep.
 */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let quote: string | undefined;
  // A quote opens a quoted scalar only where a scalar can start (O'Brien's apostrophe does not).
  let last = "\n";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
      last = c;
      continue;
    }
    if ((c === '"' || c === "'") && ":,[{-?\n".includes(last)) quote = c;
    else if (c === "#" && (last === "\n" || isSpace(text[i - 1]))) {
      while (i < text.length && text[i] !== "\n") i++;
      last = "\n";
      continue;
    } else if (c === "[" || c === "{") {
      if (++depth > max) return true;
    } else if ((c === "]" || c === "}") && depth > 0) depth--;
    if (c === "\n" || !isSpace(c)) last = c;
  }
  return false;
}

/**
 * Parses an allowlist file (JSON or YAML; JSON is YAML). All entries are valid or none is
 * returned: every problem is reported by entry index and field.
 */
export function parseAllowlist(text: string, source: string): AllowlistEntry[] {
  if (Buffer.byteLength(text) > MAX_ALLOWLIST_BYTES) {
    throw new InputError(
      `${source} is larger than ${MAX_ALLOWLIST_BYTES} bytes; an allowlist is far smaller.`,
    );
  }
  if (nestsDeeperThan(text, MAX_FLOW_DEPTH)) {
    throw new InputError(
      `${source} nests [ or { more than ${MAX_FLOW_DEPTH} levels deep; an allowlist needs two (quote text that contains brackets).`,
    );
  }
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
    if ((await stat(path)).size > MAX_ALLOWLIST_BYTES) {
      throw new Error(`it is larger than ${MAX_ALLOWLIST_BYTES} bytes; an allowlist is far smaller`);
    }
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InputError(`Cannot read allowlist file ${path}: ${errorMessage(error)}`);
  }
  return parseAllowlist(text, path);
}
