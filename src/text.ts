/**
 * Text from outside (Azure, Microsoft Graph, files, requests) is data, never markup. It is
 * cleaned once where it enters a finding or an allowlist entry (`cleanText`, or refused by
 * `printableText` where a person can fix it), then escaped for each output it reaches
 * (`escapeMarkdown`, `csvCell`, `terminalText`). A foreign tenant's administrator picks the
 * display name Graph returns, and partners pick their resource and subscription names.
 */
import { z } from "zod";

/**
 * What changes how text is shown rather than what it says, by Unicode's own classes rather than a
 * hand-made list (UAX #44): control characters (`Cc`: C0 and C1, ESC starts terminal sequences and
 * 0x9B is a one-byte CSI), format characters (`Cf`: bidi embeddings, overrides and isolates, zero
 * width joiners, the soft hyphen, tag characters U+E0000–U+E007F), every `Default_Ignorable_Code_Point`
 * (what renderers draw as nothing: Hangul fillers, variation selectors, …), the line and paragraph
 * separators, and lone surrogates (`Cs`, not text at all).
 */
const UNSAFE_CLASS = "\\p{Cc}\\p{Cf}\\p{Default_Ignorable_Code_Point}\\u2028\\u2029\\p{Cs}";
// With the `u` flag a surrogate pair is one code point, so the surrogate range only meets lone halves.
const UNSAFE = new RegExp(`[${UNSAFE_CLASS}]`, "gu");

/** Text free of unsafe characters; a regex, so that the JSON Schemas carry the rule as a `pattern`. */
export const PRINTABLE = new RegExp(`^[^${UNSAFE_CLASS}]*$`, "u");

export const PRINTABLE_MESSAGE =
  "must be printable text on one line (no control, bidi or invisible characters)";

/** What stands in for an unsafe character: visible, and inert in every output. */
export const REPLACEMENT = "\uFFFD";

/** Longest outside name kept: Entra display names and ARM names are far shorter. */
export const MAX_NAME_LENGTH = 256;
/** Longest outside text of any kind kept (resource ids, error messages). */
export const MAX_TEXT_LENGTH = 4096;

/** `text` with every unsafe character replaced, and cut (on a code point) to `max` code units. */
export function cleanText(text: string, max = MAX_TEXT_LENGTH): string {
  const clean = text.replace(UNSAFE, REPLACEMENT);
  if (clean.length <= max) return clean;
  const end = /[\uD800-\uDBFF]/.test(clean.charAt(max - 2)) ? max - 2 : max - 1;
  return `${clean.slice(0, end)}…`;
}

/** Every string inside `value` (objects, arrays) cleaned; for rows as a service returns them. */
export function cleanDeep<T>(value: T, max = MAX_TEXT_LENGTH): T {
  if (typeof value === "string") return cleanText(value, max) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => cleanDeep(item, max)) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cleanDeep(item, max)])) as T;
  }
  return value;
}

/**
 * A one-line text field people write (allowlist owner, reason, ticket): trimmed, 1 to `max`
 * characters, no control, bidi or invisible characters (they are refused, not changed, so that
 * what was approved is what is stored).
 */
export const printableText = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "is required")
    .max(max, `must be at most ${max} characters`)
    .regex(PRINTABLE, PRINTABLE_MESSAGE);

/**
 * Text for a terminal: unsafe characters (ESC and the other controls) become U+FFFD, so nothing
 * read from storage or a service can move the cursor, recolour or retitle the terminal. Our own
 * multi-line messages keep their line breaks with `keepNewlines`.
 */
export const terminalText = (text: string, keepNewlines = false): string =>
  keepNewlines
    ? text
        .split("\n")
        .map((line) => line.replace(UNSAFE, REPLACEMENT))
        .join("\n")
    : text.replace(UNSAFE, REPLACEMENT);

/**
 * Text shown literally where markdown is rendered: GitHub-flavoured markdown files and tables,
 * and Adaptive Card TextBlocks and facts in Teams (a CommonMark subset). Backslash escapes
 * (CommonMark 2.4) defuse emphasis, links, images, code, HTML and table cells; a leading list
 * or heading marker is escaped too; `://`, `//`, `www.` and `@` are broken so no autolink
 * (web, protocol-relative or e-mail) forms, and bare domains are defanged as security tools do
 * (`contoso-verify[.]com/login`), since renderers with linkify (markdown-it's, Teams') turn
 * `name.tld` into a link.
 */
export function escapeMarkdown(text: string): string {
  return defangDomains(terminalText(text))
    .replace(/[\\`*_{}[\]()<>|~&]/g, "\\$&")
    .replace(/^([-+#])/, "\\$1")
    .replace(/^(\d{1,9})([.)])(?=\s|$)/, "$1\\$2")
    .replace(/:(?=\/\/)/g, "\\:")
    .replace(/\/(?=\/)/g, "\\/")
    .replace(/\b(www)\./gi, "$1\\.")
    .replace(/@/g, "\\@");
}

/**
 * Top-level domains that linkify rules link bare (linkify-it's default list, and the gTLDs people
 * use most), besides every two-letter country code.
 */
const LINKED_TLDS =
  "com|net|org|edu|gov|mil|int|info|biz|name|pro|web|xxx|aero|asia|coop|museum|app|dev|xyz|online|site|top|shop|club|store|tech|cloud|live|link|click|page";
const BARE_DOMAIN_DOT = new RegExp(
  `(?<=[\\p{L}\\p{N}_-])\\.(?=(?:\\p{L}{2}|${LINKED_TLDS})(?![\\p{L}\\p{N}-]))`,
  "giu",
);

/**
 * The dot before a top-level domain written `[.]`: `contoso-verify.com/login` becomes
 * `contoso-verify[.]com/login`, which no linkify rule reads as a link. Names whose last label is
 * no TLD (`b2bCollaborationInbound.usersAndGroups`) and addresses (10.0.0.1) are left as they are.
 */
export const defangDomains = (text: string): string => text.replace(BARE_DOMAIN_DOT, "[.]");

/**
 * One CSV cell (RFC 4180) that no spreadsheet runs as a formula: OWASP's CSV-injection guidance
 * prefixes a cell starting with `=`, `+`, `-`, `@`, tab or carriage return with `'`, and quotes
 * every cell, doubling its quotes.
 */
export function csvCell(text: string): string {
  const inert = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${inert.replace(/"/g, '""')}"`;
}

/** `text` as a markdown code span: shown literally, with a fence longer than any backtick run inside. */
export function codeSpan(text: string): string {
  const safe = terminalText(text);
  const longest = Math.max(0, ...(safe.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = safe.startsWith("`") || safe.endsWith("`") ? " " : "";
  return `${fence}${pad}${safe}${pad}${fence}`;
}

/**
 * Text as HTML character data or a quoted attribute value: unsafe characters become U+FFFD (as
 * for a terminal), then the five characters that HTML reads as markup are written as references
 * (OWASP XSS prevention, rule 1 and 2), so a name can neither open a tag nor leave its attribute.
 */
export const escapeHtml = (text: string): string =>
  terminalText(text).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
