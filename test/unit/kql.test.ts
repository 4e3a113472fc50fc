import { describe, expect, it } from "@jest/globals";
import { SUBSCRIPTION_COUNT_QUERY } from "../../src/azure/subscription-inventory";
import { KqlError, runQuery, type Row } from "../../src/sandbox/kql";
import { ARRAY_SUMMARY_QUERY, arraySummaryRowSchema, countOf } from "../../src/scanners/array-summary";
import {
  PEERING_CANDIDATES_QUERY,
  peeringCandidatesQuery,
  peeringRowSchema,
} from "../../src/scanners/peering/query";

const TENANT = "11111111-1111-1111-1111-111111111111";
const SUB = "22222222-2222-2222-2222-222222222222";

function vnetId(name: string): string {
  return `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/${name}`;
}

function peering(name: string, props: Record<string, unknown> = {}): Row {
  return {
    id: `${vnetId("hub")}/virtualNetworkPeerings/${name}`,
    name,
    properties: {
      remoteVirtualNetwork: { id: vnetId(`remote-${name}`) },
      peeringState: "Connected",
      peeringSyncLevel: "FullyInSync",
      allowForwardedTraffic: true,
      allowGatewayTransit: false,
      useRemoteGateways: false,
      remoteAddressSpace: { addressPrefixes: ["10.1.0.0/16"] },
      ...props,
    },
  };
}

function vnet(name: string, peerings: Row[] | undefined, type = "microsoft.network/virtualnetworks"): Row {
  return {
    id: vnetId(name),
    name,
    type,
    tenantId: TENANT,
    subscriptionId: SUB,
    resourceGroup: "rg",
    location: "westeurope",
    properties: peerings === undefined ? {} : { virtualNetworkPeerings: peerings },
  };
}

function subscription(id: string, name: string, state?: string): Row {
  return {
    id: `/subscriptions/${id}`,
    name,
    type: "microsoft.resources/subscriptions",
    subscriptionId: id,
    tenantId: TENANT,
    properties: state === undefined ? {} : { state },
  };
}

function items(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function kqlError(fn: () => unknown): KqlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof KqlError) return err;
    throw err;
  }
  throw new Error("expected a KqlError");
}

const OTHER_TENANT = "33333333-3333-3333-3333-333333333333";
const OTHER_SUB = "44444444-4444-4444-4444-444444444444";
const otherVnet = (name: string) =>
  `/subscriptions/${OTHER_SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/${name}`;
/** A peering to `remote`. */
const to = (name: string, remote: string, props: Record<string, unknown> = {}) =>
  peering(name, { remoteVirtualNetwork: { id: remote }, ...props });

describe("PEERING_CANDIDATES_QUERY", () => {
  const resourcecontainers = [
    subscription(SUB, "Home"),
    { ...subscription(OTHER_SUB, "Delegated"), tenantId: OTHER_TENANT },
  ];

  it("returns only peerings whose remote subscription is not in the local VNet's tenant, with the scanner's columns", () => {
    const unseen = "/subscriptions/9999/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/u";
    const resources = [
      vnet("hub", [to("same", vnetId("spoke")), to("foreign", otherVnet("x")), to("unseen", unseen)]),
      vnet("spoke", [to("same-upper", vnetId("hub").toUpperCase(), { peeringState: "Disconnected" })]),
    ];
    const { rows, pageable } = runQuery(PEERING_CANDIDATES_QUERY, { resources, resourcecontainers });

    expect(pageable).toBe(true);
    expect(rows.map((r) => r.peeringName)).toEqual(["foreign", "unseen"]);
    expect(Object.keys(rows[0])).toEqual(Object.keys(peeringRowSchema.shape));
    for (const row of rows) peeringRowSchema.parse(row);
    expect(rows[0]).toEqual({
      id: `${vnetId("hub")}/virtualNetworkPeerings/foreign`,
      vnetId: vnetId("hub"),
      vnetName: "hub",
      subscriptionId: SUB,
      tenantId: TENANT,
      peeringCount: 3,
      peeringName: "foreign",
      remoteVnetId: otherVnet("x"),
      remoteTenantId: OTHER_TENANT,
      peeringState: "Connected",
      peeringSyncLevel: "FullyInSync",
      allowForwardedTraffic: true,
      allowGatewayTransit: false,
      useRemoteGateways: false,
      remoteAddressPrefixes: ["10.1.0.0/16"],
      // A whole-VNet peering: no subnet peering settings.
      peerCompleteVnets: null,
      localSubnetNames: null,
      remoteSubnetNames: null,
    });
    expect(rows[1].remoteTenantId).toBeNull();
  });

  it("reads a VNet with 1000 peerings in windows of 400, the foreign one last", () => {
    const many = items(999).map((i) => to(`p${String(i).padStart(3, "0")}`, vnetId("spoke")));
    many.push(to("z-foreign", otherVnet("x")));
    const tables = { resources: [vnet("hub", many)], resourcecontainers };
    const found = [0, 1, 2].flatMap((w) => runQuery(peeringCandidatesQuery(w), tables).rows);
    expect(found.map((r) => r.peeringName)).toEqual(["z-foreign"]);
    expect(runQuery(peeringCandidatesQuery(2), tables).rows).toHaveLength(1);
    expect(runQuery(peeringCandidatesQuery(0), tables).rows).toHaveLength(0);
  });

  it("skips VNets without peerings and resources that are not VNets", () => {
    const resources = [
      vnet("empty", []),
      vnet("no-property", undefined),
      vnet("nic", [to("x", otherVnet("x"))], "microsoft.network/networkinterfaces"),
      vnet("hub", [to("a", otherVnet("a"))], "Microsoft.Network/virtualNetworks"),
    ];
    const { rows } = runQuery(PEERING_CANDIDATES_QUERY, { resources, resourcecontainers });
    expect(rows.map((r) => r.vnetName)).toEqual(["hub"]);
  });

  it("gives null for missing booleans and prefixes, and empty strings for missing text", () => {
    const bare: Row = { id: `${vnetId("hub")}/virtualNetworkPeerings/bare`, name: "bare", properties: {} };
    const textual = to("textual", otherVnet("t"), {
      allowForwardedTraffic: "True",
      allowGatewayTransit: "false",
    });
    const tables = { resources: [vnet("hub", [bare, textual])], resourcecontainers };
    const { rows } = runQuery(PEERING_CANDIDATES_QUERY, tables);

    expect(rows[0]).toMatchObject({
      peeringName: "bare",
      remoteVnetId: "",
      peeringState: "",
      peeringSyncLevel: "",
      allowForwardedTraffic: null,
      allowGatewayTransit: null,
      useRemoteGateways: null,
      remoteAddressPrefixes: null,
    });
    expect(rows[1]).toMatchObject({ allowForwardedTraffic: true, allowGatewayTransit: false });
  });
});

describe("ARRAY_SUMMARY_QUERY", () => {
  it("counts VNets and their peerings, and every other array, in one row", () => {
    const resources = [
      vnet("a", []),
      vnet("b", [peering("x")]),
      vnet("b2", [peering("y"), peering("z")]),
      vnet("c", undefined, "Microsoft.Network/virtualNetworks"),
      vnet("d", [], "microsoft.compute/virtualmachines"),
      {
        id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
        type: "microsoft.storage/storageaccounts",
        properties: {
          networkAcls: { virtualNetworkRules: [{ id: "a" }, { id: "b" }, { id: "c" }] },
          privateEndpointConnections: [{ id: "pec" }],
        },
      },
      {
        id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/pls",
        type: "microsoft.network/privatelinkservices",
        properties: { visibility: { subscriptions: ["*"] }, autoApproval: { subscriptions: ["x", "y"] } },
      },
    ];
    const rows = runQuery(ARRAY_SUMMARY_QUERY, { resources }).rows;
    expect(rows).toHaveLength(1);
    const counted = (array: Parameters<typeof countOf>[1]) =>
      countOf([arraySummaryRowSchema.parse(rows[0])], array);
    // Every VNet counts (peered or not); the longest array sizes the windows.
    expect(counted("peerings")).toEqual({ containers: 4, items: 3, windows: 1 });
    expect(counted("rules")).toEqual({ containers: 1, items: 3, windows: 1 });
    expect(counted("inbound")).toEqual({ containers: 1, items: 1, windows: 1 });
    expect(counted("entries")).toEqual({ containers: 1, items: 3, windows: 1 });
    expect(counted("automatic")).toEqual({ containers: 0, items: 0, windows: 0 });
  });

  /** A summary row of a scope holding two VNets with 5 peerings and nothing else. */
  const summaryRow = (fields: Record<string, number | null>): Record<string, number | null> => {
    const nulls = Object.fromEntries(
      ["peerings", "automatic", "manual", "inbound", "rules", "entries"].flatMap((a) =>
        ["Containers", "Items", "Most"].map((f) => [`${a}${f}`, null]),
      ),
    );
    return { ...nulls, vnets: 2, peeringsContainers: 2, peeringsItems: 5, ...fields };
  };

  it("adds the rows of every request scope (past the cut-off, one per subscription group)", () => {
    const row = (peeringsMost: number) => arraySummaryRowSchema.parse(summaryRow({ peeringsMost }));
    expect(countOf([row(3), row(401)], "peerings")).toEqual({ containers: 4, items: 10, windows: 2 });
  });

  it("a row missing a column, or counting items without the longest array, is unreadable", () => {
    expect(arraySummaryRowSchema.safeParse(summaryRow({ peeringsMost: 3 })).success).toBe(true);
    const { rulesMost: _left, ...withoutColumn } = summaryRow({ peeringsMost: 3 });
    expect(arraySummaryRowSchema.safeParse(withoutColumn).success).toBe(false);
    // Items counted, the longest left out: no window would be read, so the row is refused.
    expect(arraySummaryRowSchema.safeParse(summaryRow({ peeringsMost: null })).success).toBe(false);
  });
});

describe("SUBSCRIPTION_COUNT_QUERY", () => {
  it("counts subscriptions, not resource groups, whatever the case of the table name", () => {
    const containers = [
      subscription("bbbb", "Beta", "Enabled"),
      { ...subscription("cccc", "Group"), type: "microsoft.resources/subscriptions/resourcegroups" },
    ];
    expect(runQuery(SUBSCRIPTION_COUNT_QUERY, { ResourceContainers: containers }).rows).toEqual([
      { Count: 1 },
    ]);
  });
});

describe("union", () => {
  const t = [
    { type: "a", n: 1 },
    { type: "b", n: 2 },
  ];

  it("appends each leg's rows over every column, the other side's null (Kusto's outer union)", () => {
    const result = runQuery(
      "t | summarize total = sum(n) | extend part = 'sum' | union (t | where type == 'b' | project type, part = 'row')",
      { t },
    );
    expect(result.rows).toEqual([
      { total: 3, part: "sum", type: null },
      { total: null, part: "row", type: "b" },
    ]);
    // A summarize in any leg gives one page only, as in the query itself.
    expect(result.pageable).toBe(false);
    expect(runQuery("t | union (t | where n > 1)", { t }).pageable).toBe(true);
  });

  it("allows legs of the same table or of resources and resourcecontainers, at most 3, as Resource Graph does", () => {
    const tables = { resources: t, resourcecontainers: t, authorizationresources: t };
    expect(runQuery("resources | union (resourcecontainers | take 1)", tables).rows).toHaveLength(3);
    expect(() => runQuery("resources | union (authorizationresources)", tables)).toThrow(
      "Resource Graph allows union only within one table or between resources and resourcecontainers",
    );
    expect(() =>
      runQuery("resources | union (resources), (resources), (resources), (resources)", tables),
    ).toThrow("4 union legs; Resource Graph allows at most 3");
    expect(() => runQuery("resources | union resources", tables)).toThrow(
      "union supports only parenthesized legs",
    );
  });
});

describe("join", () => {
  const left = [
    { k: "a", v: 1 },
    { k: "a", v: 2 },
    { k: "b", v: 3 },
  ];
  const right = [
    { k: "a", w: "x" },
    { k: "a", w: "y" },
  ];
  const q = (flavor: string) => `l | join ${flavor} (r | project k, w) on k | order by v asc, w asc`;

  it("joins as Kusto's flavors do, suffixing the right key column", () => {
    expect(runQuery(q("kind=inner"), { l: left, r: right }).rows).toHaveLength(4);
    expect(runQuery(q(""), { l: left, r: right }).rows).toEqual([
      { k: "a", v: 1, k1: "a", w: "x" },
      { k: "a", v: 1, k1: "a", w: "y" },
    ]);
    expect(runQuery(q("kind=leftouter"), { l: left, r: right }).rows.at(-1)).toEqual({
      k: "b",
      v: 3,
      k1: null,
      w: null,
    });
  });

  it("refuses what Resource Graph refuses: other flavors, a 4th join, 2 cross-table joins beyond resources/resourcecontainers", () => {
    expect(() => runQuery("l | join kind=fullouter (r) on k", { l: left, r: right })).toThrow(
      "Join flavor 'fullouter' is not supported by Resource Graph",
    );
    const four = "l" + " | join kind=inner (l) on k".repeat(4);
    expect(() => runQuery(four, { l: left })).toThrow("Resource Graph allows at most 3");
    expect(() => runQuery("l | join (r) on k | join (s) on k", { l: left, r: right, s: right })).toThrow(
      "2 cross-table joins",
    );
    const both = "resources | join (resourcecontainers) on id | join (resourcecontainers) on name";
    expect(() => runQuery(both, { resources: [], resourcecontainers: [] })).not.toThrow();
  });
});

describe("comparisons", () => {
  const resources = [vnet("hub", [], "Microsoft.Network/virtualNetworks")];

  it("== and != are case-sensitive, =~ and !~ are not", () => {
    const count = (pred: string): number =>
      runQuery(`resources | where ${pred} | count`, { resources }).rows[0].Count as number;
    expect(count("type == 'microsoft.network/virtualnetworks'")).toBe(0);
    expect(count("type != 'microsoft.network/virtualnetworks'")).toBe(1);
    expect(count("type =~ 'microsoft.network/virtualnetworks'")).toBe(1);
    expect(count("type !~ 'microsoft.network/virtualnetworks'")).toBe(0);
    expect(count('type == "Microsoft.Network/virtualNetworks"')).toBe(1);
  });

  it("treat null as Kusto does: one null makes == false and != true, two make null", () => {
    const { rows } = runQuery(
      `resources | project eq = properties.missing == 'x', ne = properties.missing != 'x',
         both = properties.missing == properties.gone, lt = properties.missing < 1`,
      { resources },
    );
    expect(rows).toEqual([{ eq: false, ne: true, both: null, lt: null }]);
  });

  it("where drops rows whose condition is null", () => {
    const rows = [{ n: 1 }, { n: null }, { n: 3 }];
    expect(runQuery("t | where n > 1", { t: rows }).rows).toEqual([{ n: 3 }]);
    expect(runQuery("t | where not(n > 1)", { t: rows }).rows).toEqual([{ n: 1 }]);
  });

  it("use three-valued and/or", () => {
    const { rows } = runQuery(
      "t | project a = n > 0 and false, b = n > 0 or true, c = n > 0 and true, d = n > 0 or false",
      { t: [{ n: null }] },
    );
    expect(rows).toEqual([{ a: false, b: true, c: null, d: null }]);
  });

  it("support in, in~, !in and !in~, including dynamic arrays in the list", () => {
    const t = [{ s: "Alpha" }, { s: "beta" }, { s: null }];
    const names = (pred: string): unknown[] => runQuery(`t | where ${pred}`, { t }).rows.map((r) => r.s);
    expect(names("s in ('Alpha', 'BETA')")).toEqual(["Alpha"]);
    expect(names("s in~ ('alpha', 'BETA')")).toEqual(["Alpha", "beta"]);
    expect(names("s !in ('Alpha')")).toEqual(["beta", null]);
    expect(names("s !in~ ('ALPHA')")).toEqual(["beta", null]);
    expect(names("s in (dynamic(['beta', 'gamma']))")).toEqual(["beta"]);
  });

  it("string operators are case-insensitive unless _cs, and ! negates them", () => {
    const t = [{ s: "Microsoft.Network/virtualNetworks" }];
    const holds = (pred: string): boolean => runQuery(`t | where ${pred}`, { t }).rows.length === 1;
    expect(holds("s contains 'NETWORK/'")).toBe(true);
    expect(holds("s contains_cs 'NETWORK/'")).toBe(false);
    expect(holds("s !contains 'xyz'")).toBe(true);
    expect(holds("s startswith 'microsoft.'")).toBe(true);
    expect(holds("s startswith_cs 'microsoft.'")).toBe(false);
    expect(holds("s endswith 'NETWORKS'")).toBe(true);
    expect(holds("s !endswith_cs 'NETWORKS'")).toBe(true);
    expect(holds("s has 'network'")).toBe(true);
    expect(holds("s has 'net'")).toBe(false);
    expect(holds("s !has 'net'")).toBe(true);
    expect(holds("s has_cs 'Network'")).toBe(true);
  });
});

describe("scalar expressions", () => {
  it("read nested values with dots, quoted keys and indexes, null when missing", () => {
    const t = [{ d: { a: { "b-c": [10, { e: "x" }] } } }];
    const { rows } = runQuery(
      `t | project one = d.a['b-c'][0], two = d.a["b-c"][1].e, missing = d.nope.deeper, past = d.a['b-c'][5],
          wrongShape = d.a[0]`,
      { t },
    );
    expect(rows).toEqual([{ one: 10, two: "x", missing: null, past: null, wrongShape: null }]);
  });

  it("evaluate literals, arithmetic and functions", () => {
    const { rows } = runQuery(
      `t // comment after the table
       | extend total = n * 2 + 1, half = n / 2, real = 7.5 / 2, neg = -n
       | extend
           label = strcat('n=', n, ', ', tostring(dynamic(null))),
           upper = toupper(@'a\\b'), lower = tolower("A\\tB"),
           parts = split('a/b/c', '/'), list = dynamic([1, "two", {"three": 3}]),
           pick = iff(n > 2, 'big', 'small'), pick2 = iif(isnull(n), 'null', 'set'),
           first = coalesce(dynamic(null), '', 'x'), len = array_length(dynamic([])), notArray = array_length('x'),
           i = toint('42'), l = tolong(3.9), bad = toint('x'), b = tobool(0), sb = tobool('TRUE'), nb = tobool(dynamic(null)),
           e1 = isempty(''), e2 = isempty(dynamic(null)), e3 = isempty(dynamic([])), ne = isnotempty('x'), nn = isnotnull(n)
       | project-away n`,
      { t: [{ n: 5 }] },
    );
    expect(rows).toEqual([
      {
        total: 11,
        half: 2,
        real: 3.75,
        neg: -5,
        label: "n=5, ",
        upper: "A\\B",
        lower: "a\tb",
        parts: ["a", "b", "c"],
        list: [1, "two", { three: 3 }],
        pick: "big",
        pick2: "set",
        first: "x",
        len: 0,
        notArray: null,
        i: 42,
        l: 3,
        bad: null,
        b: false,
        sb: true,
        nb: null,
        e1: true,
        e2: true,
        e3: false,
        ne: true,
        nn: true,
      },
    ]);
  });

  it("let an extend item use the columns made before it, and project-away drop columns", () => {
    const { rows } = runQuery("t | extend a = n + 1, b = a * 10 | project-away n", { t: [{ n: 1 }] });
    expect(rows).toEqual([{ a: 2, b: 20 }]);
  });

  it("turns values into strings as tostring() does", () => {
    const { rows } = runQuery(
      "t | project a = tostring(n), b = tostring(flag), c = tostring(bag), d = tostring(missing)",
      { t: [{ n: 1.5, flag: true, bag: { k: [1] }, missing: null }] },
    );
    expect(rows).toEqual([{ a: "1.5", b: "true", c: '{"k":[1]}', d: "" }]);
  });
});

describe("mv-expand", () => {
  const t = [{ id: 1, arr: items(300) }];

  it("keeps only 128 items per row when no limit is given, as Resource Graph does", () => {
    expect(runQuery("t | mv-expand arr", { t }).rows).toHaveLength(128);
  });

  it("honours an explicit limit up to 400", () => {
    expect(runQuery("t | mv-expand x = arr limit 5", { t }).rows.map((r) => r.x)).toEqual([0, 1, 2, 3, 4]);
    expect(runQuery("t | mv-expand x = arr limit 400", { t }).rows).toHaveLength(300);
  });

  it("rejects a limit above 400 and a third mv-expand, as Resource Graph does", () => {
    expect(() => runQuery("t | mv-expand x = arr limit 2000", { t })).toThrow(
      "mv-expand limit 2000 exceeds the maximum of 400",
    );
    expect(() => runQuery("t | mv-expand x = arr limit 401", { t: [] })).toThrow(KqlError);
    expect(() => runQuery("t | mv-expand a = arr | mv-expand b = arr | mv-expand c = arr", { t })).toThrow(
      "3 mv-expand operators; Resource Graph allows at most 2",
    );
  });

  it("array_slice picks a window of an array, end included", () => {
    const { rows } = runQuery("t | mv-expand x = array_slice(arr, 298, 400) limit 400", { t });
    expect(rows.map((r) => r.x)).toEqual([298, 299]);
  });

  it("replaces a bare column and keeps the other columns", () => {
    const { rows } = runQuery("t | mv-expand arr limit 2", { t });
    expect(rows).toEqual([
      { id: 1, arr: 0 },
      { id: 1, arr: 1 },
    ]);
  });

  it("drops rows with an empty array, keeps one row for null or a non-array, splits property bags", () => {
    const rows = [
      { id: "empty", v: [] },
      { id: "emptyBag", v: {} },
      { id: "null", v: null },
      { id: "scalar", v: "text" },
      { id: "bag", v: { a: 1, b: 2 } },
    ];
    const out = runQuery("t | mv-expand v", { t: rows }).rows;
    expect(out).toEqual([
      { id: "null", v: null },
      { id: "scalar", v: "text" },
      { id: "bag", v: { a: 1 } },
      { id: "bag", v: { b: 2 } },
    ]);
  });
});

describe("order by", () => {
  const t = [{ k: 2 }, { k: null }, { k: 10 }, { k: 1 }];
  const keys = (q: string): unknown[] => runQuery(q, { t }).rows.map((r) => r.k);

  it("sorts descending by default with nulls last", () => {
    expect(keys("t | order by k")).toEqual([10, 2, 1, null]);
    expect(keys("t | sort by k desc")).toEqual([10, 2, 1, null]);
  });

  it("puts nulls first when ascending, unless told otherwise", () => {
    expect(keys("t | order by k asc")).toEqual([null, 1, 2, 10]);
    expect(keys("t | order by k asc nulls last")).toEqual([1, 2, 10, null]);
    expect(keys("t | order by k desc nulls first")).toEqual([null, 10, 2, 1]);
  });

  it("sorts strings ordinally and by several keys", () => {
    const rows = [
      { a: "b", b: 1 },
      { a: "B", b: 2 },
      { a: "b", b: 3 },
    ];
    const { rows: out } = runQuery("t | order by a asc, b desc", { t: rows });
    expect(out).toEqual([
      { a: "B", b: 2 },
      { a: "b", b: 3 },
      { a: "b", b: 1 },
    ]);
  });
});

describe("take, count and summarize", () => {
  const t = items(10).map((i) => ({ i, kind: i % 3 === 0 ? "fizz" : "other", team: i < 5 ? "a" : "b" }));

  it("take and limit cut the rows and make the result unpageable", () => {
    const taken = runQuery("t | take 3", { t });
    expect(taken.rows).toHaveLength(3);
    expect(taken.pageable).toBe(false);
    expect(runQuery("t | limit 2", { t }).pageable).toBe(false);
    expect(runQuery("t | where i > 4", { t }).pageable).toBe(true);
    // summarize: "simplified results, first page only" (query-language.md).
    expect(runQuery("t | summarize n = count() by i", { t }).pageable).toBe(false);
  });

  it("count returns a single Count row", () => {
    expect(runQuery("t | where i >= 7 | count", { t }).rows).toEqual([{ Count: 3 }]);
  });

  it("summarize counts per group and overall", () => {
    const query = "t | summarize count() by kind, team | order by count_ desc, kind asc, team asc";
    expect(runQuery(query, { t }).rows).toEqual([
      { kind: "other", team: "a", count_: 3 },
      { kind: "other", team: "b", count_: 3 },
      { kind: "fizz", team: "a", count_: 2 },
      { kind: "fizz", team: "b", count_: 2 },
    ]);
    expect(runQuery("t | summarize n = count()", { t }).rows).toEqual([{ n: 10 }]);
    expect(runQuery("t | where i > 100 | summarize n = count()", { t }).rows).toEqual([{ n: 0 }]);
  });
});

describe("errors", () => {
  const resources = [vnet("hub", [])];

  it("names an unsupported operator and where it is", () => {
    const err = kqlError(() => runQuery("resources\n| evaluate bag_unpack(properties)", { resources }));
    expect(err.message).toBe("Unsupported operator 'evaluate' at position 12");
  });

  it("names unsupported functions, aggregations and scalar operators", () => {
    expect(() => runQuery("resources | extend k = bag_keys(properties)", { resources })).toThrow(
      "Unsupported function 'bag_keys'",
    );
    expect(() => runQuery("resources | summarize dcount(id)", { resources })).toThrow(
      "Unsupported aggregation 'dcount'",
    );
    expect(() => runQuery("resources | where name matches regex 'a'", { resources })).toThrow(
      "Unsupported operator 'matches'",
    );
    expect(() => runQuery("resources | mv-expand with_itemindex=i x = properties", { resources })).toThrow(
      "Unsupported mv-expand parameter 'with_itemindex'",
    );
  });

  it("rejects unknown columns and tables, even on an empty table", () => {
    expect(() => runQuery("resources | where Type =~ 'x'", { resources: [] })).toThrow(
      "Unknown column 'Type' at position 18 (did you mean 'type'?)",
    );
    expect(() => runQuery("securityresources | count", { resources })).toThrow(
      "Unknown table 'securityresources'",
    );
  });

  it("reports syntax errors as KqlError", () => {
    for (const query of [
      "resources | where name == 'unterminated",
      "resources | project",
      "resources | where (name == 'a'",
      "resources | take 1d",
      "where type == 'x'",
      "resources | project properties.x",
      "resources | where name < 'b'",
      "resources | where name",
      "resources | project id, id",
    ]) {
      expect(() => runQuery(query, { resources })).toThrow(KqlError);
    }
  });
});

describe("performance", () => {
  it("runs 100,000 rows through where, mv-expand, project and order quickly", () => {
    const resources = items(100_000).map((i) =>
      vnet(
        `v${i}`,
        i % 2 === 0 ? [peering(`p${i}`), peering(`q${i}`)] : [],
        "microsoft.network/virtualnetworks",
      ),
    );
    // CPU time of this process, not wall time: other test workers share the machine's cores.
    const started = process.cpuUsage();
    const { rows } = runQuery(PEERING_CANDIDATES_QUERY, { resources, resourcecontainers: [] });
    const used = process.cpuUsage(started);
    const elapsedMs = (used.user + used.system) / 1000;

    expect(rows).toHaveLength(100_000);
    // The target is well under a second; the bound leaves room for slow CI machines.
    expect(elapsedMs).toBeLessThan(5000);
  });
});
