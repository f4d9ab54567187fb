// Sums vitest and Playwright JSON reports (plus the shell's pass/fail checks) into the final line
// "N passed, N failed" and exits non-zero if anything failed or a report is missing.
import { existsSync, readFileSync } from "node:fs";

const [checksPassed, checksFailed, ...reports] = process.argv.slice(2);
let passed = Number(checksPassed);
let failed = Number(checksFailed);
let skipped = 0;
for (const file of reports) {
  if (!existsSync(file)) {
    console.log(`missing test report ${file} (the runner crashed)`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, "utf8"));
  if (r.stats) {
    // Playwright's JSON report
    passed += r.stats.expected + r.stats.flaky;
    failed += r.stats.unexpected + (r.errors?.length ?? 0);
    continue;
  }
  passed += r.numPassedTests;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  failed += r.numFailedTests;
  // A file that failed to load (syntax error, failing hook) has no failed test of its own.
  failed += r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length;
}
// Opt-in tests (e.g. the real `bootc install` run) are skipped unless enabled; say so.
if (skipped) console.log(`${skipped} skipped (opt-in tests; see docs/disks.md)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && reports.length > 0 ? 0 : 1);
