/**
 * Entry point of the per-VM monitor process: `node dist/engine/runtime/direct/main.js NAME`.
 * Started detached by the engine; see supervisor.ts.
 */
import { Supervisor } from "./supervisor.js";

const name = process.argv[2];
if (!name) {
  console.error("usage: monitor NAME");
  process.exit(2);
}
const supervisor = await Supervisor.load(name);
// If the monitor must ever end unexpectedly, the record says why and nothing is left running.
process.on("uncaughtException", (e) => void supervisor.crash(e));
process.on("unhandledRejection", (e) => void supervisor.crash(e));
await supervisor.run();
