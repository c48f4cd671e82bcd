// Shown when the page has no way to reach an engine (opened without serve's token).
import { useTheme } from './hooks';

export function NoEngine({ message }: { message: string }) {
  useTheme();
  return (
    <div className="no-engine">
      <h1>Framescope</h1>
      <p>{message}</p>
      <p className="muted">
        Start it with <code>framescope serve</code> and open the URL it prints, or open this page with <code>?demo</code> to try the
        UI against a built-in demo engine.
      </p>
    </div>
  );
}
