import type { ScanReport } from "../findings/report";
import type { CommonFinding, Severity } from "../scanners/finding";
import { CHECKS } from "../scanners/findings";
import { escapeHtml } from "../text";

/**
 * The tenant map of a report: a node per tenant, an edge per tenant pair and kind of finding, and
 * a small deterministic layout (our tenants in the middle, every other tenant on a circle around
 * them), drawn as inline SVG. Pure: the same report gives the same picture.
 */

/** Where a finding's other side is, as a map node: a tenant id (lower case), or one of these. */
export const UNRESOLVED_NODE = "unresolved";
/** A setting open to every tenant (`*`, the cross-tenant access policy's default). */
export const ANY_TENANT_NODE = "any-tenant";

export type NodeRole = "ours" | "foreign" | "unresolved" | "any-tenant";

export interface MapNode {
  /** `data-tenant-id`: the tenant id in lower case, `unresolved` or `any-tenant`. */
  key: string;
  role: NodeRole;
  /** A tenant's display name where a finding gave one, else its id. */
  label: string;
  /** Findings touching this node, how many need action, and the worst severity among them. */
  findings: number;
  needAction: number;
  worst: Severity;
  x: number;
  y: number;
}

export interface MapEdge {
  /** The two nodes' keys, in key order (an edge has no direction). */
  a: string;
  b: string;
  kind: CommonFinding["kind"];
  count: number;
  needAction: number;
  worst: Severity;
  /** Every finding on it is allowed or Microsoft-managed: drawn muted. */
  muted: boolean;
}

export interface TenantGraph {
  nodes: MapNode[];
  edges: MapEdge[];
  width: number;
  height: number;
  /** Past a couple of dozen tenants, labels point outwards along each node's radius. */
  radialLabels: boolean;
}

const RANK: Record<Severity, number> = { high: 0, medium: 1, low: 2, info: 3 };
const worse = (a: Severity, b: Severity): Severity => (RANK[a] <= RANK[b] ? a : b);
const needsAction = (f: CommonFinding) => f.status !== "allowed";

/** The node a finding's own side sits on: the tenant of its local resource. */
export const localNodeOf = (f: Pick<CommonFinding, "localTenantId">): string => f.localTenantId.toLowerCase();

/** The node a finding's other side sits on. */
export function remoteNodeOf(f: Pick<CommonFinding, "remoteTenantId" | "relation">): string {
  if (f.remoteTenantId) return f.remoteTenantId.toLowerCase();
  return f.relation === "unresolved" ? UNRESOLVED_NODE : ANY_TENANT_NODE;
}

/** Longest label drawn on the map; the whole name is in the node's accessible text and the table. */
const LABEL_CHARS = 28;
/** Our tenants' labels sit under them, side by side: shorter. */
const INNER_LABEL_CHARS = 18;
const clipLabel = (text: string, max = LABEL_CHARS) =>
  [...text].length <= max ? text : `${[...text].slice(0, max - 1).join("")}…`;

/** Nodes, edges and layout of a report's findings. */
export function tenantGraph(report: Pick<ScanReport, "homeTenantId" | "findings">): TenantGraph {
  const ours = new Set([report.homeTenantId.toLowerCase(), ...report.findings.map(localNodeOf)]);
  const names = new Map<string, string>();
  for (const f of report.findings) {
    if (!f.remoteTenantId || !f.remoteTenantName) continue;
    const key = f.remoteTenantId.toLowerCase();
    const known = names.get(key);
    // Findings read at different times may name a tenant differently: one name, whatever the order.
    if (known === undefined || f.remoteTenantName < known) names.set(key, f.remoteTenantName);
  }

  const nodes = new Map<string, MapNode>();
  const node = (key: string): MapNode => {
    let n = nodes.get(key);
    if (!n) {
      const role: NodeRole = ours.has(key)
        ? "ours"
        : key === UNRESOLVED_NODE
          ? "unresolved"
          : key === ANY_TENANT_NODE
            ? "any-tenant"
            : "foreign";
      const label =
        role === "unresolved"
          ? "Unresolved tenant"
          : role === "any-tenant"
            ? "Any tenant"
            : (names.get(key) ?? key);
      n = { key, role, label, findings: 0, needAction: 0, worst: "info", x: 0, y: 0 };
      nodes.set(key, n);
    }
    return n;
  };
  node(report.homeTenantId.toLowerCase());

  const edges = new Map<string, MapEdge>();
  for (const f of report.findings) {
    const local = localNodeOf(f);
    const remote = remoteNodeOf(f);
    for (const key of local === remote ? [local] : [local, remote]) {
      const n = node(key);
      n.findings++;
      if (needsAction(f)) n.needAction++;
      n.worst = worse(n.worst, f.severity);
    }
    if (local === remote) continue; // nothing to draw between a tenant and itself
    const [a, b] = local < remote ? [local, remote] : [remote, local];
    const id = `${a}|${b}|${f.kind}`;
    const edge = edges.get(id) ?? {
      a,
      b,
      kind: f.kind,
      count: 0,
      needAction: 0,
      worst: "info" as Severity,
      muted: true,
    };
    edge.count++;
    edge.worst = worse(edge.worst, f.severity);
    if (needsAction(f)) edge.needAction++;
    if (needsAction(f) && f.relation !== "microsoft-managed") edge.muted = false;
    edges.set(id, edge);
  }

  const byWeight = (x: MapNode, y: MapNode) =>
    RANK[x.worst] - RANK[y.worst] || y.needAction - x.needAction || (x.key < y.key ? -1 : 1);
  const inner = [...nodes.values()].filter((n) => n.role === "ours").sort(byWeight);
  const outer = [...nodes.values()].filter((n) => n.role !== "ours").sort(byWeight);

  // Outer ring: about 36 px of arc per node, never smaller than a readable circle.
  const ringRadius = Math.max(190, (outer.length * 36) / (2 * Math.PI));
  const innerRadius = inner.length === 1 ? 0 : Math.min(ringRadius / 2.2, 60 + inner.length * 14);
  const margin = 200; // room for labels outside the ring
  const width = Math.round(2 * (ringRadius + margin));
  // Beside their nodes, labels of a crowded ring would overlap their neighbours' at the top and
  // bottom: they point outwards instead, and need the same room above and below as beside.
  const radialLabels = outer.length > 24;
  const height = radialLabels ? width : Math.round(2 * (ringRadius + 70));
  const cx = width / 2;
  const cy = height / 2;
  const place = (list: MapNode[], radius: number, start: number) =>
    list.forEach((n, i) => {
      const angle = start + (2 * Math.PI * i) / Math.max(1, list.length);
      n.x = round(cx + radius * Math.cos(angle));
      n.y = round(cy + radius * Math.sin(angle));
    });
  place(inner, innerRadius, Math.PI); // side by side, left to right
  place(outer, ringRadius, -Math.PI / 2);

  const kindOrder = Object.keys(CHECKS);
  return {
    nodes: [...inner, ...outer],
    edges: [...edges.values()].sort(
      (x, y) =>
        (x.a < y.a ? -1 : x.a > y.a ? 1 : 0) ||
        (x.b < y.b ? -1 : x.b > y.b ? 1 : 0) ||
        kindOrder.indexOf(x.kind) - kindOrder.indexOf(y.kind),
    ),
    width,
    height,
    radialLabels,
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

const ROLE_TEXT: Record<NodeRole, string> = {
  ours: "our tenant",
  foreign: "other tenant",
  unresolved: "tenant not determined",
  "any-tenant": "open to any tenant",
};

/** What a screen reader says for a node, and its tooltip. */
export function nodeText(n: MapNode): string {
  const name = n.label === n.key || n.role !== "foreign" ? n.label : `${n.label} (${n.key})`;
  return (
    `${name}, ${ROLE_TEXT[n.role]}: ${plural(n.findings, "finding")}, ${n.needAction} need action` +
    (n.findings > 0 ? `, worst ${n.worst}` : "")
  );
}

/** What a screen reader says for an edge, and its tooltip. */
export function edgeText(e: MapEdge, labelOf: (key: string) => string): string {
  return (
    `${CHECKS[e.kind]?.title ?? e.kind} between ${labelOf(e.a)} and ${labelOf(e.b)}: ` +
    `${plural(e.count, "finding")}, ${e.needAction} need action, worst ${e.worst}` +
    (e.muted ? " (allowed or Microsoft-managed)" : "")
  );
}

/** The map as an inline `<svg>`: every piece of outside text escaped, every node and edge named. */
export function tenantMapSvg(graph: TenantGraph): string {
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  const labelOf = (key: string) => byKey.get(key)?.label ?? key;
  const pairIndex = new Map<string, number>();
  const pairCount = new Map<string, number>();
  for (const e of graph.edges) pairCount.set(`${e.a}|${e.b}`, (pairCount.get(`${e.a}|${e.b}`) ?? 0) + 1);

  const edges = graph.edges.map((e) => {
    const from = byKey.get(e.a)!;
    const to = byKey.get(e.b)!;
    const pair = `${e.a}|${e.b}`;
    const i = pairIndex.get(pair) ?? 0;
    pairIndex.set(pair, i + 1);
    // Edges of one pair fan out as curves, one per kind, so each keeps its own count.
    const offset = (i - ((pairCount.get(pair) ?? 1) - 1) / 2) * 22;
    const dx = to.x - from.x;
    const dy = to.y - from.y;
    const length = Math.hypot(dx, dy) || 1;
    const mx = (from.x + to.x) / 2 + (-dy / length) * offset * 2;
    const my = (from.y + to.y) / 2 + (dx / length) * offset * 2;
    // The curve's midpoint, where its count is written.
    const lx = round(0.25 * from.x + 0.5 * mx + 0.25 * to.x);
    const ly = round(0.25 * from.y + 0.5 * my + 0.25 * to.y);
    const width = round(1.5 + Math.min(5, Math.log2(e.count + 1)));
    const text = escapeHtml(edgeText(e, labelOf));
    return (
      `<g class="edge sev-${e.worst}${e.muted ? " muted" : ""}" tabindex="0" role="img" aria-label="${text}" ` +
      `data-kind="${escapeHtml(e.kind)}" data-count="${e.count}" data-severity="${e.worst}" ` +
      `data-a="${escapeHtml(e.a)}" data-b="${escapeHtml(e.b)}"><title>${text}</title>` +
      `<path d="M${from.x} ${from.y} Q${round(mx)} ${round(my)} ${to.x} ${to.y}" stroke-width="${width}"/>` +
      `<text x="${lx}" y="${ly}" class="count">${e.count}</text></g>`
    );
  });

  const cx = graph.width / 2;
  const nodes = graph.nodes.map((n) => {
    const text = escapeHtml(nodeText(n));
    const r = n.role === "ours" ? 22 : 14;
    // Labels of the outer ring sit outside it, beside their node or, on a crowded ring, pointing
    // away from the middle along its radius; they read left to right on both sides.
    const angle = Math.atan2(n.y - graph.height / 2, n.x - cx);
    const right = n.role === "ours" || Math.cos(angle) >= 0;
    const radial = graph.radialLabels && n.role !== "ours";
    const lx =
      n.role === "ours" ? n.x : round(n.x + (radial ? (r + 6) * Math.cos(angle) : right ? r + 6 : -(r + 6)));
    const ly =
      n.role === "ours" ? round(n.y + r + 14) : round(n.y + (radial ? (r + 6) * Math.sin(angle) : 4));
    const turn = !radial
      ? ""
      : ` transform="rotate(${round(((right ? angle : angle + Math.PI) * 180) / Math.PI)} ${lx} ${ly})" dominant-baseline="central"`;
    const anchor = n.role === "ours" ? "middle" : right ? "start" : "end";
    return (
      `<g class="node ${n.role} sev-${n.findings > 0 ? n.worst : "none"}" tabindex="0" role="button" ` +
      `aria-label="${text}" data-tenant-id="${escapeHtml(n.key)}" data-findings="${n.findings}">` +
      `<title>${text}</title><circle cx="${n.x}" cy="${n.y}" r="${r}"/>` +
      `<text x="${lx}" y="${ly}" text-anchor="${anchor}"${turn}>${escapeHtml(clipLabel(n.label, n.role === "ours" ? INNER_LABEL_CHARS : LABEL_CHARS))}</text></g>`
    );
  });

  return (
    `<svg id="tenant-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${graph.width} ${graph.height}" ` +
    `role="group" aria-labelledby="map-title" aria-describedby="map-help">` +
    `<g class="edges">${edges.join("")}</g><g class="nodes">${nodes.join("")}</g></svg>`
  );
}
