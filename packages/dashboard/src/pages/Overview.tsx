import { useTitle } from '../lib/router';

export function Overview() {
  useTitle('Overview');
  return (
    <header className="page-header">
      <h1>Overview</h1>
    </header>
  );
}
