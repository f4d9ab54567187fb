// The floors inside engine/: each folder may import only from folders on a lower floor
// (and from itself). Folders on the same floor are independent of each other: the two
// runtimes never import each other, nor do images/, ssh/ and provision/.
import path from "node:path";

/** Floor of each engine folder, lowest first; engine/*.ts itself (index.ts) is on top. */
export const ENGINE_FLOORS = [
  ["core"],
  ["host"],
  ["images", "ssh", "provision"],
  ["disk", "insight"],
  ["runtime"],
  ["runtime/direct", "runtime/libvirt", "runtime/vfkit"],
  ["vm", "doctor", "demo"],
  [""],
];

const floorOf = new Map(ENGINE_FLOORS.flatMap((units, level) => units.map((u) => [u, level])));

/** The folder unit a file belongs to: the deepest entry of ENGINE_FLOORS containing it. */
function unitOf(engineRelative) {
  const dir = path.posix.dirname(engineRelative);
  for (let d = dir; ; d = path.posix.dirname(d)) {
    const key = d === "." ? "" : d;
    if (floorOf.has(key)) return key;
    if (d === "." || d === "/") return undefined;
  }
}

export const engineFloors = {
  meta: {
    type: "problem",
    docs: { description: "engine/ folders import only from lower floors" },
    schema: [],
    messages: {
      upward: "engine/{{from}} must not import engine/{{to}}: {{why}} (floors, lowest first: {{floors}}).",
    },
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const rel = path
      .relative(path.join(context.cwd ?? process.cwd(), "engine"), file)
      .split(path.sep)
      .join("/");
    if (rel.startsWith("..")) return {};
    const from = unitOf(rel);
    if (from === undefined) return {};
    const check = (node, spec) => {
      if (typeof spec !== "string" || !spec.startsWith(".")) return;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
      if (target.startsWith("..")) return; // outside engine/: the top-level boundaries cover it
      const to = unitOf(target);
      if (to === undefined || to === from) return;
      const [a, b] = [floorOf.get(from), floorOf.get(to)];
      if (b < a) return;
      const why = b === a ? "folders on one floor are independent" : "that folder is on a higher floor";
      context.report({
        node,
        messageId: "upward",
        data: { from: from || "index", to: to || "index", why, floors: ENGINE_FLOORS.map((f) => f.map((u) => u || "index").join("|")).join(" < ") },
      });
    };
    return {
      ImportDeclaration: (n) => check(n.source, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n.source, n.source.value),
      ExportAllDeclaration: (n) => check(n.source, n.source.value),
      ImportExpression: (n) => n.source.type === "Literal" && check(n.source, n.source.value),
    };
  },
};
