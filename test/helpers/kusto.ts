import { readdirSync } from "node:fs";
import { join } from "node:path";

// The Kusto language service ships as script bundles that define a global `Kusto`.
require("@kusto/language-service-next/bridge.min.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");

interface Diagnostics {
  Count: number;
  getItem(i: number): { Message: string };
}
declare const Kusto: { Language: { KustoCode: { Parse(text: string): { GetDiagnostics(): Diagnostics } } } };

/** What Kusto's own parser finds wrong with a query; empty when it parses. */
export function syntaxErrors(query: string): string[] {
  const diagnostics = Kusto.Language.KustoCode.Parse(query).GetDiagnostics();
  return Array.from({ length: diagnostics.Count }, (_, i) => diagnostics.getItem(i).Message);
}

/**
 * Every exported string constant whose name ends in `suffix`, in the compiled sources below the
 * given folders of `src/` (the queries the tool sends, found without a list to keep up to date).
 */
export function exportedStrings(suffix: string, folders: string[]): [string, string][] {
  const found: [string, string][] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".js"))
        for (const [name, value] of Object.entries(require(path) as Record<string, unknown>))
          if (name.endsWith(suffix) && typeof value === "string") found.push([name, value]);
    }
  };
  for (const folder of folders) walk(join(__dirname, "../../src", folder));
  return found;
}
