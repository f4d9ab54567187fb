/**
 * Which of xterm's renderers a console uses. WebGL draws on the GPU; but where the browser's
 * GL itself runs on the CPU (SwiftShader, llvmpipe: a VM, a remote desktop, a machine whose
 * GPU is missing or blocklisted, headless Chromium), the WebGL renderer cost 3.6 times the
 * CPU of xterm's DOM renderer for a boot's serial output (docs/benchmarks.md, "A console in
 * the browser"), so the DOM renderer is kept there.
 */

/** A GL renderer string of an implementation that runs on the CPU. */
export function isSoftwareGl(renderer: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software rasterizer|microsoft basic render/i.test(renderer);
}

/** The browser's WebGL renderer as it names itself, or undefined without WebGL. */
export function webglRenderer(): string | undefined {
  const gl = document.createElement("canvas").getContext("webgl2");
  if (!gl) return undefined;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension("WEBGL_lose_context")?.loseContext(); // a context is a scarce thing: give it back
  return name;
}

/** "webgl" where the GL is real hardware, else "dom". */
export function terminalRenderer(renderer: string | undefined): "webgl" | "dom" {
  return renderer !== undefined && !isSoftwareGl(renderer) ? "webgl" : "dom";
}
