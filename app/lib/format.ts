/** Plain-language labels and small formatters shared by the pages. */
export const STATE_LABEL: Record<string, string> = {
  creating: "Creating",
  booting: "Booting",
  running: "Running",
  "ssh-ready": "Ready",
  stopping: "Stopping",
  stopped: "Stopped",
  failed: "Failed",
};

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  return `${Math.round(n / 1e6)} MB`;
}

export function formatAge(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return "—";
  if (s < 90) return `${Math.round(s)} seconds`;
  if (s < 5400) return `${Math.round(s / 60)} minutes`;
  if (s < 172800) return `${Math.round(s / 3600)} hours`;
  return `${Math.round(s / 86400)} days`;
}

export function formatUptime(sec?: number): string {
  if (sec === undefined) return "—";
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}

export const imageName = (i: { names: string[]; id: string }) => i.names[0] ?? i.id.slice(0, 12);
