/**
 * The subset of .containerignore / .dockerignore rules the watcher needs: a changed path
 * that the build context excludes must not trigger a rebuild. Supports `*`, `**`, `?`,
 * leading `/`, directory prefixes and `!` exceptions (last match wins).
 */
export function ignoreMatcher(patterns: string[]): (relPath: string) => boolean {
  const rules = patterns
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith("#"))
    .map((p) => {
      const negate = p.startsWith("!");
      const body = (negate ? p.slice(1) : p).replace(/^\/+/, "").replace(/\/+$/, "");
      const re = body
        .split("/")
        .map((seg) =>
          seg === "**"
            ? "(?:.*)"
            : seg
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, "[^/]*")
                .replace(/\?/g, "[^/]"),
        )
        .join("/")
        .replaceAll("(?:.*)/", "(?:.*/)?"); // "**/" matches zero or more directories
      return { negate, regex: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (relPath) => {
    let ignored = false;
    for (const r of rules) if (r.regex.test(relPath)) ignored = !r.negate;
    return ignored;
  };
}
