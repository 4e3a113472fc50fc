import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { contractSchemas } from "../src/contract-schemas";

/** Regenerates schemas/*.json from the code's own validators (`npm run schemas`). */
for (const [file, schema] of Object.entries(contractSchemas())) {
  writeFileSync(join("schemas", file), JSON.stringify(schema, null, 2) + "\n");
  process.stdout.write(`wrote schemas/${file}\n`);
}
