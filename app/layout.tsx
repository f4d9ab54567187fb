import type { ReactNode } from "react";
import "@patternfly/react-core/dist/styles/base.css";
import "@xterm/xterm/css/xterm.css";
import "./globals.css";
import { Shell } from "./components/Shell";

export const metadata = { title: "bootc console" };

// Applies the saved (or the system's) theme before the first paint.
const THEME_SCRIPT = `try{var t=localStorage.getItem("bootc-theme")||(matchMedia("(prefers-color-scheme: dark)").matches?"dark":"light");if(t==="dark")document.documentElement.classList.add("pf-v6-theme-dark")}catch(e){}`;

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <Shell>{children}</Shell>
      </body>
    </html>
  );
}
