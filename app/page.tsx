// The web console is not built yet (see the README's roadmap); `bootc serve` will serve
// this app. Until then the CLI is the way in.
export default function Home() {
  return (
    <main>
      <h1>bootc console</h1>
      <p>The web console is under construction. Use the CLI: <code>bootc run localhost/bootc-demo</code>.</p>
    </main>
  );
}
