import { describe, expect, it } from "vitest";
import { isSoftwareGl, terminalRenderer } from "./gl-renderer";

describe("the console's renderer", () => {
  it("is xterm's DOM renderer where the GL runs on the CPU, or there is none", () => {
    for (const cpu of [
      "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)",
      "llvmpipe (LLVM 15.0.6, 256 bits)",
      "Mesa softpipe",
      "ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)",
    ]) {
      expect(isSoftwareGl(cpu), cpu).toBe(true);
      expect(terminalRenderer(cpu)).toBe("dom");
    }
    expect(terminalRenderer(undefined)).toBe("dom");
  });

  it("is WebGL on a GPU", () => {
    for (const gpu of [
      "ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)",
      "Apple M2",
      "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)",
    ]) {
      expect(isSoftwareGl(gpu), gpu).toBe(false);
      expect(terminalRenderer(gpu)).toBe("webgl");
    }
  });
});
