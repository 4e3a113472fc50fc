import { z } from "zod";
import { alertMessageSchema } from "./findings/alert-message";
import { ALLOWLIST_FILE_SCHEMA } from "./allowlist/file";
import { ESTATE_FILE_SCHEMA } from "./sandbox/estate";
import { scanReportSchema } from "./findings/report";

/** The JSON Schemas of the public file formats, generated from the validators the code uses. */
export function contractSchemas(): Record<string, unknown> {
  const schemas = {
    "estate.schema.json": {
      schema: ESTATE_FILE_SCHEMA,
      io: "input",
      title: "Estate file v1 (local sandbox input)",
    },
    "allowlist.schema.json": { schema: ALLOWLIST_FILE_SCHEMA, io: "input", title: "Allowlist file v1" },
    "report.schema.json": { schema: scanReportSchema, io: "output", title: "Scan report v1" },
    "alert.schema.json": {
      schema: alertMessageSchema,
      io: "output",
      title: "Alert message v1 (alerts queue, generic webhook)",
    },
  } as const;
  return Object.fromEntries(
    Object.entries(schemas).map(([file, { schema, io, title }]) => [
      file,
      { title, ...z.toJSONSchema(schema, { io, unrepresentable: "any" }) },
    ]),
  );
}
