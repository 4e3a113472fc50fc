import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

/**
 * What `func azure functionapp publish` puts in the package, decided the way Azure Functions Core
 * Tools does (src/Cli/func/Common/GitIgnoreParser.cs, a port of the npm package gitignore-parser,
 * and FileSystemHelpers.GetLocalFiles):
 * - each .funcignore pattern becomes a regular expression anchored at the START of the path
 *   relative to the app root ("dist/src/a.js"), ending in a word boundary; `**` is `.+` and `*` is
 *   `[^/]+`, so `*.map` matches "a.map" but not "dist/a.map" (that takes `**\/*.map`);
 * - `!pattern` lines re-include, a leading `/` is dropped, `#` lines and blank lines are skipped;
 * - directories named .git or .vscode, and files named .funcignore, .gitignore,
 *   local.settings.json or project.lock.json, are never packaged.
 * This is not git's own ignore logic, which is the point: .funcignore is read by this one.
 */
export class FuncIgnore {
  private readonly positive: RegExp;
  private readonly negative: RegExp;

  constructor(content: string) {
    const positive: string[] = [];
    const negative: string[] = [];
    for (const raw of content.split("\n")) {
      let line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const isNegative = line.startsWith("!");
      if (isNegative) line = line.slice(1);
      if (line.startsWith("/")) line = line.slice(1);
      (isNegative ? negative : positive).push(line);
    }
    this.positive = combine(positive);
    this.negative = combine(negative);
  }

  denies(path: string): boolean {
    return !(this.negative.test(path) || !this.positive.test(path));
  }
}

function combine(patterns: string[]): RegExp {
  if (patterns.length === 0) return /$^/;
  const sorted = [...patterns].sort();
  return new RegExp(`^((${sorted.map(toRegex).join(")|(")}))\\b`);
}

function toRegex(pattern: string): string {
  return pattern
    .replace(/[-[\]/{}()+?.\\^$|]/g, "\\$&")
    .replaceAll("**", "(.+)")
    .replaceAll("*", "([^\\/]+)");
}

const NEVER_DIRECTORIES = new Set([".git", ".vscode"]);
const NEVER_FILES = new Set([".funcignore", ".gitignore", "local.settings.json", "project.lock.json"]);

/** The package's files, as paths relative to `root` with `/`, sorted. */
export function packageFiles(root: string): string[] {
  const ignoreFile = join(root, ".funcignore");
  const ignore = existsSync(ignoreFile) ? new FuncIgnore(readFileSync(ignoreFile, "utf8")) : undefined;
  const files: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = prefix + entry.name;
      if (entry.isDirectory()) {
        if (!NEVER_DIRECTORIES.has(entry.name)) walk(join(dir, entry.name), `${path}/`);
      } else if (!NEVER_FILES.has(entry.name) && !(ignore?.denies(path) ?? false)) files.push(path);
    }
  };
  walk(root, "");
  return files.sort();
}
