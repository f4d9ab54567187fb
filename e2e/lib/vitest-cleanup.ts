// Loaded before every end-to-end test file (vitest setupFiles): when the file ends, pass
// or fail, the temporary directories it made are removed (see harness.ts).
import { afterAll } from "vitest";
import { removeTempDirs } from "./harness.js";

afterAll(() => {
  removeTempDirs();
});
