/** One row of `bootc doctor`'s report (host checks, and libvirt's from runtime/libvirt). */
export type RowStatus = "ok" | "warn" | "fail";

export interface DoctorRow {
  id: string;
  name: string;
  status: RowStatus;
  /** Whether a failure here stops bootc-console from booting anything. */
  required: boolean;
  detail: string;
  fix?: string;
}
