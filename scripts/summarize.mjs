// Sums vitest and Playwright JSON reports (plus the shell's pass/fail checks) into the final line
// "N passed, N failed" and exits non-zero if anything failed or a report is missing. Before
// it, a table of each end-to-end and browser test file's minutes (its tests' first start to
// last end), slowest first: files run side by side, so these add up to more than the suite took.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const [checksPassed, checksFailed, ...reports] = process.argv.slice(2);
let passed = Number(checksPassed);
let failed = Number(checksFailed);
let skipped = 0;
/** [file, milliseconds] for every test file of every report. */
const durations = [];

/** A Playwright suite's test results, nested suites included. */
function* playwrightResults(suite) {
  for (const spec of suite.specs ?? []) for (const test of spec.tests) yield* test.results;
  for (const inner of suite.suites ?? []) yield* playwrightResults(inner);
}

function playwrightSpan(suite) {
  const spans = [...playwrightResults(suite)].map((r) => [Date.parse(r.startTime), Date.parse(r.startTime) + r.duration]);
  return spans.length ? Math.max(...spans.map((s) => s[1])) - Math.min(...spans.map((s) => s[0])) : 0;
}

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
    skipped += r.stats.skipped ?? 0;
    failed += r.stats.unexpected + (r.errors?.length ?? 0);
    for (const suite of r.suites) durations.push([`e2e/ui/${suite.file}`, playwrightSpan(suite)]);
    continue;
  }
  passed += r.numPassedTests;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  failed += r.numFailedTests;
  // A file that failed to load (syntax error, failing hook) has no failed test of its own.
  failed += r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length;
  for (const t of r.testResults.filter((t) => t.name.includes("/e2e/"))) durations.push([path.relative(process.cwd(), t.name), t.endTime - t.startTime]);
}
if (durations.length) {
  console.log("minutes per end-to-end test file, slowest first:");
  for (const [name, ms] of durations.sort((a, b) => b[1] - a[1])) console.log(`${(ms / 60_000).toFixed(1).padStart(6)}  ${name}`);
}
// Opt-in tests (e.g. the real `bootc install` run) are skipped unless enabled, and the arm64
// ones without their image; say so.
if (skipped) console.log(`${skipped} skipped (opt-in tests, and those whose image is absent: README, "Tests")`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && reports.length > 0 ? 0 : 1);
