import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import type { AllowlistEntry } from "../../src/allowlist/entry";
import { exportAllowlist } from "../../src/allowlist/export";
import { parseAllowlist } from "../../src/allowlist/file";
import { allowlistCommand } from "../../src/cli/allowlist-command";
import type { CliIo } from "../../src/cli/io";
import { InputError } from "../../src/errors";
import { AllowlistStore, type StoredAllowlistEntry } from "../../src/store/allowlist-store";
import { storageFromConnectionString, type Storage } from "../../src/store/storage";
import { testStorage, type TestStorage } from "../helpers/azurite";

const ROOT = resolve(__dirname, "../../..");
const EXAMPLE = join(ROOT, "examples/allowlist.yaml");

const guid = (n: number) => `${n.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;

/** `count` tenant entries; `reason` tells two versions of the same allowlist apart. */
function entries(count: number, reason = "first version"): AllowlistEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `entry-${String(i).padStart(3, "0")}`,
    tenantId: guid(i + 1),
    owner: "netops@contoso.com",
    reason,
  }));
}

/** What a user compares: the allowlist's content, without the stored timestamps. */
const contentOf = (stored: StoredAllowlistEntry[]) =>
  stored.map(({ createdAt: _c, createdBy: _b, updatedAt: _u, ...entry }) => entry);

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "cts-allowlist-")), name);
  writeFileSync(path, content);
  return path;
}

function day(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
}

describe("allowlist in Table Storage", () => {
  let env: TestStorage;
  let tables = 0;
  /** Each test gets its own table so that none sees another's allowlist. */
  const freshStore = () => new AllowlistStore(env.storage, `allowlist${++tables}`);

  beforeAll(async () => {
    env = await testStorage();
  });
  afterAll(() => env.stop());

  async function rowsOf(tableName: string) {
    const table = await env.storage.table(tableName);
    const rows: Record<string, unknown>[] = [];
    for await (const row of table.listEntities<Record<string, unknown>>()) rows.push(row);
    return rows;
  }

  async function partitionsOf(tableName: string): Promise<string[]> {
    return [...new Set((await rowsOf(tableName)).map((row) => String(row.partitionKey)))].sort();
  }

  it("starts empty and exports the imported file in canonical form, byte for byte", async () => {
    const store = freshStore();
    expect(await store.list()).toEqual([]);
    const text = readFileSync(EXAMPLE, "utf8");
    await store.replaceAll(parseAllowlist(text, EXAMPLE), "alice");

    const exported = exportAllowlist(await store.list());
    expect(exported).toBe(exportAllowlist(parseAllowlist(text, EXAMPLE)));
    expect(exportAllowlist(await store.list())).toBe(exported);
    expect(exported).not.toMatch(/createdAt|createdBy|updatedAt/);
  });

  it("stores only the optional fields an entry has", async () => {
    const store = freshStore();
    await store.replaceAll(entries(1), "alice");
    const [row] = (await rowsOf(`allowlist${tables}`)).filter((r) => r.rowKey === "entry-000");
    expect(Object.keys(row!).sort()).toEqual(
      [
        "createdAt",
        "createdBy",
        "etag",
        "owner",
        "partitionKey",
        "reason",
        "rowKey",
        "tenantId",
        "timestamp",
        "updatedAt",
      ].sort(),
    );
  });

  it("imports 250 entries (several transactions), lists all of them sorted, and keeps only the live version", async () => {
    const store = freshStore();
    const tableName = `allowlist${tables}`;
    const many = entries(250).reverse();
    expect(await store.replaceAll(many, "alice")).toEqual({
      added: 250,
      changed: 0,
      removed: 0,
      unchanged: 0,
    });
    const listed = await store.list();
    expect(listed).toHaveLength(250);
    expect(contentOf(listed)).toEqual(entries(250));

    await store.replaceAll(entries(250, "second version"), "alice");
    expect(await partitionsOf(tableName)).toEqual(["current", expect.stringMatching(/^v0000000002-/)]);
  });

  it("never shows a reader a mix of the old and the new allowlist while 250 entries are replaced", async () => {
    const store = freshStore();
    await store.replaceAll(entries(250, "old"), "alice");
    const reader = new AllowlistStore(env.storage, `allowlist${tables}`);

    let done = false;
    const importing = store.replaceAll(entries(250, "new"), "bob").finally(() => (done = true));
    const seen = new Set<string>();
    while (!done) {
      const listed = await reader.list();
      const reasons = new Set(listed.map((e) => e.reason));
      expect(listed).toHaveLength(250);
      expect(reasons.size).toBe(1);
      seen.add([...reasons][0]!);
    }
    await importing;
    expect(new Set((await reader.list()).map((e) => e.reason))).toEqual(new Set(["new"]));
    expect(seen.has("old")).toBe(true);
  });

  it("keeps createdAt and createdBy across re-imports and moves updatedAt only for changed entries", async () => {
    const store = freshStore();
    const first = new Date("2026-01-01T00:00:00Z");
    const second = new Date("2026-02-01T00:00:00Z");
    await store.replaceAll(entries(3), "alice", first);

    const next = entries(4).filter((e) => e.id !== "entry-002");
    next[1] = { ...next[1]!, expiresOn: "2027-01-31" };
    expect(await store.replaceAll(next, "bob", second)).toEqual({
      added: 1,
      changed: 1,
      removed: 1,
      unchanged: 1,
    });

    const byId = new Map((await store.list()).map((e) => [e.id, e]));
    expect([...byId.keys()]).toEqual(["entry-000", "entry-001", "entry-003"]);
    const stamps = (id: string) => {
      const { createdAt, createdBy, updatedAt } = byId.get(id)!;
      return { createdAt, createdBy, updatedAt };
    };
    expect(stamps("entry-000")).toEqual({
      createdAt: first.toISOString(),
      createdBy: "alice",
      updatedAt: first.toISOString(),
    });
    expect(stamps("entry-001")).toEqual({
      createdAt: first.toISOString(),
      createdBy: "alice",
      updatedAt: second.toISOString(),
    });
    expect(stamps("entry-003")).toEqual({
      createdAt: second.toISOString(),
      createdBy: "bob",
      updatedAt: second.toISOString(),
    });
  });

  it("leaves the other import's allowlist live, and nothing of its own, when it loses the race to move the pointer", async () => {
    const tableName = `allowlist${++tables}`;
    await new AllowlistStore(env.storage, tableName).replaceAll(entries(2, "original"), "alice");

    // The rival import runs to completion between this import writing its rows and moving the pointer.
    const ownStorage = storageFromConnectionString(env.azurite.connectionString, "racing import");
    const rival = () => new AllowlistStore(env.storage, tableName).replaceAll(entries(150, "rival"), "carol");
    const loser = new AllowlistStore(rivalFirst(ownStorage, tableName, rival), tableName);

    await expect(loser.replaceAll(entries(150, "loser"), "bob")).rejects.toThrow(/Another allowlist import/);
    expect(contentOf(await new AllowlistStore(env.storage, tableName).list())).toEqual(entries(150, "rival"));
    expect(await partitionsOf(tableName)).toEqual(["current", expect.stringMatching(/^v0000000002-/)]);
  });

  it("lets exactly one of two simultaneous imports take effect whole", async () => {
    const store = freshStore();
    const tableName = `allowlist${tables}`;
    await store.replaceAll(entries(1, "original"), "alice");
    const a = entries(150, "import a");
    const b = entries(120, "import b");
    const outcomes = await Promise.allSettled([
      new AllowlistStore(env.storage, tableName).replaceAll(a, "alice"),
      new AllowlistStore(env.storage, tableName).replaceAll(b, "bob"),
    ]);

    const live = contentOf(await store.list());
    expect([a, b]).toContainEqual(live);
    expect(outcomes.some((o) => o.status === "fulfilled")).toBe(true);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect(String(outcome.reason)).toMatch(/Another allowlist import/);
    }
    expect(await partitionsOf(tableName)).toEqual(["current", expect.stringMatching(/^v000000000[23]-/)]);
  });

  it("refuses entries it could not read back, changing nothing", async () => {
    const store = freshStore();
    await store.replaceAll(entries(2), "alice");
    const before = await store.list();
    await expect(store.replaceAll([...entries(2), entries(1)[0]!], "bob")).rejects.toThrow(
      /entry-000 is used twice/,
    );
    await expect(store.replaceAll([{ ...entries(1)[0]!, tenantId: "nope" }], "bob")).rejects.toThrow(
      /entry-000 is not valid: \$\.tenantId: must be a GUID/,
    );
    expect(await store.list()).toEqual(before);
  });

  it("refuses rows edited by hand into something invalid, naming the row", async () => {
    const store = freshStore();
    const tableName = `allowlist${tables}`;
    await store.replaceAll(entries(2), "alice");
    const table = await env.storage.table(tableName);
    const row = (await rowsOf(tableName)).find((r) => r.rowKey === "entry-001")!;
    await table.updateEntity(
      { partitionKey: String(row.partitionKey), rowKey: "entry-001", tenantId: "not-a-guid", colour: "red" },
      "Merge",
    );
    await expect(store.list()).rejects.toThrow(
      new RegExp(
        `Row ${row.partitionKey}/entry-001 of table ${tableName} .*tenantId: must be a GUID.*colour`,
      ),
    );
  });

  describe("cross-tenant-scanner allowlist", () => {
    // The command always uses the table "allowlist", so each test gets an Azurite of its own.
    let cliEnv: TestStorage;
    let storage: Storage;
    beforeEach(async () => {
      cliEnv = await testStorage();
      storage = cliEnv.storage;
    });
    afterEach(() => cliEnv.stop());

    async function cli(args: string[], options: Partial<CliIo> = {}) {
      let stdout = "";
      let stderr = "";
      const io: CliIo = {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        color: false,
        env: { USER: "alice" },
        ...options,
      };
      const code = await allowlistCommand(args, io, storage);
      return { code, stdout, stderr };
    }

    it("imports the example, lists it, and exports a file that re-imports identically", async () => {
      const imported = await cli(["import", EXAMPLE]);
      expect(imported.code).toBe(0);
      expect(imported.stdout).toBe("");
      expect(imported.stderr).toMatch(/3 added, 0 changed, 0 removed, 0 unchanged/);

      const exported = await cli(["export"]);
      expect(exported.stdout).toBe(exportAllowlist(parseAllowlist(readFileSync(EXAMPLE, "utf8"), EXAMPLE)));

      const again = await cli(["import", tempFile("exported.yaml", exported.stdout)]);
      expect(again.stderr).toMatch(/0 added, 0 changed, 0 removed, 3 unchanged/);
      expect((await cli(["export"])).stdout).toBe(exported.stdout);

      const json = await cli(["export", "--format", "json"]);
      expect(parseAllowlist(json.stdout, "stdout")).toEqual(parseAllowlist(exported.stdout, "stdout"));

      const stored = await new AllowlistStore(storage).list();
      expect(new Set(stored.map((e) => e.createdBy))).toEqual(new Set(["alice"]));
    });

    it("lists entries in aligned columns, highlighting expired and soon expiring ones", async () => {
      const vnet =
        "/subscriptions/8655f4d3-0bb1-4be0-b73c-6a8f3b304cf6/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v";
      const file = tempFile(
        "allowlist.yaml",
        `schemaVersion: 1
entries:
  - id: expired
    tenantId: "${guid(1)}"
    expiresOn: "2020-01-01"
    owner: a@contoso.com
    reason: Old migration
  - id: soon
    remoteVnetId: "${vnet}"
    localScope: "/subscriptions/${guid(9)}/resourceGroups/hub-rg"
    expiresOn: "${day(10)}"
    owner: b@contoso.com
    reason: Short project
    ticket: CHG-7
  - id: later
    subscriptionId: "${guid(2)}"
    expiresOn: "${day(400)}"
    owner: c@contoso.com
    reason: Partner
`,
      );
      await cli(["import", file], { env: {} });

      const plain = (await cli(["list"])).stdout.split("\n");
      expect(plain[0]).toMatch(/^ID\s+MATCHES\s+LOCAL SCOPE\s+EXPIRES\s+OWNER\s+REASON\s+TICKET$/);
      expect(plain.slice(1, 4).map((l) => l.split(/\s+/)[0])).toEqual(["expired", "later", "soon"]);
      const column = plain[0]!.indexOf("EXPIRES");
      expect(plain[1]!.indexOf("2020-01-01")).toBe(column);
      expect(plain[3]!.indexOf(day(10))).toBe(column);
      expect(plain[1]).toContain(`tenantId=${guid(1)}`);
      expect(plain[3]).toContain(`remoteVnetId=${vnet}`);
      expect(plain.at(-2)).toBe("3 entries (1 expired)");

      const colored = (await cli(["list"], { color: true })).stdout;
      expect(colored).toContain("\u001b[31m2020-01-01\u001b[39m");
      expect(colored).toContain(`\u001b[33m${day(10)}\u001b[39m`);
      expect(colored).not.toMatch(new RegExp(`\u001b\\[3\\dm${day(400)}`));

      const stored = await new AllowlistStore(storage).list();
      expect(new Set(stored.map((e) => e.createdBy))).toEqual(new Set(["cli"]));
    });

    it("says so when the allowlist is empty", async () => {
      expect((await cli(["list"])).stdout).toBe("The allowlist is empty.\n0 entries (0 expired)\n");
      expect((await cli(["export"])).stdout).toBe("schemaVersion: 1\nentries: []\n");
    });

    it("changes nothing when the file to import is invalid", async () => {
      await cli(["import", EXAMPLE]);
      const before = await new AllowlistStore(storage).list();
      const bad = tempFile(
        "bad.yaml",
        `schemaVersion: 1\nentries:\n  - tenantId: "${guid(1)}"\n    reason: no owner\n`,
      );
      await expect(cli(["import", bad])).rejects.toThrow(/entries\[0\]\.owner/);
      expect(await new AllowlistStore(storage).list()).toEqual(before);
    });

    it("refuses bad usage as an input error", async () => {
      for (const args of [
        [],
        ["frobnicate"],
        ["import"],
        ["import", "a.yaml", "b.yaml"],
        ["import", "/nonexistent/allowlist.yaml"],
        ["export", "--format", "xml"],
        ["export", "--colour"],
        ["list", "extra"],
      ]) {
        await expect(cli(args)).rejects.toBeInstanceOf(InputError);
      }
    });
  });
});

/**
 * A Storage whose allowlist table runs `rival` to completion just before this import's first
 * transaction, so the rival moves the pointer between this import reading and moving it.
 */
function rivalFirst(storage: Storage, tableName: string, rival: () => Promise<unknown>): Storage {
  return {
    ...storage,
    table: async (name) => {
      const table = await storage.table(name);
      if (name !== tableName) return table;
      const submit = table.submitTransaction.bind(table);
      let rivalRan = false;
      table.submitTransaction = async (actions, options) => {
        if (!rivalRan) {
          rivalRan = true;
          await rival();
        }
        return submit(actions, options);
      };
      return table;
    },
  };
}
