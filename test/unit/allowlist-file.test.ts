import { describe, expect, it } from "@jest/globals";
import { parseAllowlist } from "../../src/allowlist/file";
import { InputError } from "../../src/errors";

const T = "22222222-2222-4222-8222-222222222222";

function problems(text: string): string[] {
  try {
    parseAllowlist(text, "allowlist.yaml");
  } catch (error) {
    if (error instanceof InputError) return error.problems;
    throw error;
  }
  throw new Error("expected the allowlist to be refused");
}

describe("allowlist file", () => {
  it("reads YAML and JSON alike, generating stable ids for entries without one", () => {
    const yaml = parseAllowlist(
      `schemaVersion: 1\nentries:\n  - tenantId: "${T}"\n    owner: a\n    reason: b\n`,
      "a.yaml",
    );
    const json = parseAllowlist(
      JSON.stringify({ schemaVersion: 1, entries: [{ tenantId: T.toUpperCase(), owner: "a", reason: "b" }] }),
      "a.json",
    );
    expect(yaml[0]!.id).toMatch(/^tenant-[0-9a-f]{12}$/);
    expect(json[0]!.id).toBe(yaml[0]!.id);
  });

  it("reports every problem by entry index and field", () => {
    const text = `schemaVersion: 1
entries:
  - tenantId: "${T}"
    subscriptionId: "${T}"
    owner: a
    reason: b
  - tenantId: not-a-guid
    reason: b
    expiresOn: "2027-02-30"
    colour: red
  - id: Bad_Id
    remoteVnetId: /subscriptions/x/resourceGroups/y
    localScope: hub-rg
    owner: a
    reason: b
`;
    expect(problems(text)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^\$\.entries\[0\]\.subscriptionId: needs exactly one of tenantId, subscriptionId or remoteVnetId/,
        ),
        "$.entries[1].tenantId: must be a GUID",
        expect.stringMatching(/^\$\.entries\[1\]\.owner: /),
        "$.entries[1].expiresOn: is not a calendar date",
        expect.stringMatching(/^\$\.entries\[1\]: Unrecognized key: "colour"/),
        expect.stringMatching(/^\$\.entries\[2\]\.id: /),
        "$.entries[2].remoteVnetId: must be a virtual network resource id",
        expect.stringMatching(/^\$\.entries\[2\]\.localScope: /),
      ]),
    );
  });

  it("refuses duplicate ids, a wrong schema version and text that is not YAML", () => {
    const entry = `  - id: same\n    tenantId: "${T}"\n    owner: a\n    reason: b\n`;
    expect(problems(`schemaVersion: 1\nentries:\n${entry}${entry}`)).toEqual([
      '$.entries[1].id: "same" is already used by entries[0]',
    ]);
    expect(problems("schemaVersion: 2\nentries: []\n")).toEqual(["$.schemaVersion: must be 1"]);
    expect(() => parseAllowlist("entries: [", "x.yaml")).toThrow(/x.yaml is neither JSON nor YAML/);
  });

  it("refuses text fields over their limits and with control, bidi or invisible characters", () => {
    const entry = (fields: Record<string, string>) =>
      JSON.stringify({ schemaVersion: 1, entries: [{ tenantId: T, owner: "o", reason: "r", ...fields }] });
    const scope = `/subscriptions/${T}/resourceGroups/rg`;
    const cases: [Record<string, string>, string][] = [
      [{ owner: "x".repeat(257) }, "$.entries[0].owner: must be at most 256 characters"],
      [{ reason: "x".repeat(1025) }, "$.entries[0].reason: must be at most 1024 characters"],
      [{ ticket: "x".repeat(129) }, "$.entries[0].ticket: must be at most 128 characters"],
      [
        { localScope: `${scope}/${"x".repeat(1024)}` },
        "$.entries[0].localScope: must be at most 1024 characters",
      ],
      [{ owner: "eve\u0000" }, "$.entries[0].owner: must be printable text on one line"],
      [{ reason: "ok\u001b[2J" }, "$.entries[0].reason: must be printable text on one line"],
      [{ ticket: "T-1\u202e" }, "$.entries[0].ticket: must be printable text on one line"],
      [{ reason: "lone \ud800 half" }, "$.entries[0].reason: must be printable text on one line"],
      [{ localScope: `${scope}\n/x` }, "$.entries[0].localScope: must be printable text on one line"],
      // Invisible by Unicode's classes (Cf, Default_Ignorable_Code_Point), not by a hand-made list.
      [{ owner: "ev\u200De" }, "$.entries[0].owner: must be printable text on one line"],
      [{ owner: "ev\u200Ce" }, "$.entries[0].owner: must be printable text on one line"],
      [{ reason: "soft\u00ADhyphen" }, "$.entries[0].reason: must be printable text on one line"],
      [{ reason: "filler\u3164" }, "$.entries[0].reason: must be printable text on one line"],
      [{ ticket: "T-1\u{E0041}" }, "$.entries[0].ticket: must be printable text on one line"],
    ];
    for (const [fields, message] of cases) {
      expect(problems(entry(fields)).join("\n")).toContain(message);
    }
  });

  it("accepts every field at its longest, and text in any script", () => {
    const [read] = parseAllowlist(
      JSON.stringify({
        schemaVersion: 1,
        entries: [
          {
            tenantId: T,
            owner: "ö".repeat(256),
            reason: "理由 😀 ".repeat(146).slice(0, 1024),
            ticket: "t".repeat(128),
          },
        ],
      }),
      "long.json",
    );
    expect(read!.owner).toHaveLength(256);
    expect(read!.reason.length).toBeLessThanOrEqual(1024);
  });

  it("refuses a huge or deeply nested file at once, before the YAML parser", () => {
    const started = Date.now();
    expect(() => parseAllowlist("[".repeat(4 * 1024 * 1024 - 1), "deep.yaml")).toThrow(
      /nests \[ or \{ more than 32 levels/,
    );
    expect(() => parseAllowlist(" ".repeat(4 * 1024 * 1024 + 1), "big.yaml")).toThrow(
      /larger than 4194304 bytes/,
    );
    // Without the guard the YAML parser takes seconds and gigabytes on this input, or crashes.
    expect(Date.now() - started).toBeLessThan(5000);
    // Brackets in quoted text and comments do not count.
    const quoted = `schemaVersion: 1 # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\nentries:\n  - tenantId: "${T}"\n    owner: a\n    reason: "${"[".repeat(100)}"\n`;
    expect(parseAllowlist(quoted, "quoted.yaml")[0]!.reason).toBe("[".repeat(100));
    // An apostrophe inside plain text opens no quote that could hide brackets after it.
    const apostrophe = `owner: O'Brien\nx: ${"[".repeat(100_000)}`;
    expect(() => parseAllowlist(apostrophe, "apostrophe.yaml")).toThrow(/nests \[ or \{ more than 32 levels/);
  });
});
