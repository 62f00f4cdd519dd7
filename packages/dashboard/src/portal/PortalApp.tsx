export function PortalApp() {
  return (
    <main id="main">
      <h1>Portal</h1>
    </main>
  );
}
