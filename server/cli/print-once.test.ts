import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

/** Runs printOnce in a new Node process (it writes to fd 1), after `before`; bash pipes its stdout into `reader`. */
function printThrough(reader: string, before: string, text: string) {
  const code = `import { printOnce } from ${JSON.stringify(path.resolve("server/cli/output.ts"))}; ${before}; printOnce(${text}); printOnce("end");`;
  const node = [process.execPath, "--import", "tsx", "--input-type=module", "-e", code].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return spawnSync("bash", ["-c", `set -o pipefail; ${node} | ${reader}; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
}

describe("printOnce (a command's whole output, straight to fd 1)", () => {
  it("delivers all of a large output, in order, to a slow reader, also after process.stdout made the pipe non-blocking", () => {
    for (const before of ["", "process.stdout.write('first' + String.fromCharCode(10))"]) {
      const r = printThrough("(sleep 0.5; cat)", before, '"x".repeat(4 * 2 ** 20)');
      expect(r.stderr).toContain("status 0");
      const lines = r.stdout.split("\n");
      expect(lines.slice(before ? 1 : 0)).toEqual(["x".repeat(4 * 2 ** 20), "end", ""]);
    }
  });

  it("is no error when the reader has gone (as console.log): exit code 0, nothing on stderr", () => {
    const r = printThrough("head -c 1 >/dev/null", "await new Promise((ok) => setTimeout(ok, 300))", '"x".repeat(2 ** 20)');
    expect(r.stderr.trim()).toBe("status 0");
  });
});
