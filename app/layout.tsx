import type { ReactNode } from "react";
import { headers } from "next/headers";
import "@patternfly/react-core/dist/styles/base.css";
import "@xterm/xterm/css/xterm.css";
import "./globals.css";
import { Shell } from "./components/Shell";

export const metadata = { title: "bootc console" };

// Applies the saved (or the system's) theme before the first paint.
const THEME_SCRIPT = `try{var t=localStorage.getItem("bootc-theme")||(matchMedia("(prefers-color-scheme: dark)").matches?"dark":"light");if(t==="dark")document.documentElement.classList.add("pf-v6-theme-dark")}catch(e){}`;

export default async function RootLayout({ children }: { children: ReactNode }) {
  // The server puts a fresh nonce in the request's CSP for every page (no 'unsafe-inline'
  // scripts); reading it here also makes every page render per request, so it always fits.
  const csp = (await headers()).get("content-security-policy") ?? "";
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <Shell>{children}</Shell>
      </body>
    </html>
  );
}
