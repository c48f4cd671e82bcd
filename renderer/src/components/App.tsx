// The window: a top bar (connect, captures, theme), the connections and the proxy on the
// left, the frames of the selected connection in the middle (their timeline above them, the
// composer under them), and the inspector (one frame, or the handshake) on the right.
import { CaDialog } from './CaDialog';
import { CapturesBar } from './CapturesBar';
import { Composer } from './Composer';
import { ConnectForm } from './ConnectForm';
import { ConnectionHeader } from './ConnectionHeader';
import { ReplayPanel } from './ReplayPanel';
import { ConnectionList } from './ConnectionList';
import { FrameList } from './FrameList';
import { FrameToolbar } from './FrameToolbar';
import { SearchBar } from './SearchBar';
import { useTheme } from './hooks';
import { Inspector } from './Inspector';
import { InterceptPanel } from './InterceptPanel';
import { InterceptButton, LaunchDialog } from './LaunchDialog';
import { Notices } from './Notices';
import { PreviousSessionBanner } from './PreviousSessionBanner';
import { ProxyPanel } from './ProxyPanel';
import { ThemeToggle } from './ThemeToggle';
import { TimelinePanel } from './Timeline';
import { Later } from './later';
import { TransportBanner } from './TransportBanner';
import { useAppStore } from '../store/store';

export function App() {
  useTheme();
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand" title="Framescope: every WebSocket frame, exactly as on the wire">
          <span className="brand-mark" aria-hidden="true">
            ▚
          </span>
          Framescope
        </div>
        <ConnectForm />
        <div className="topbar-spacer" />
        <InterceptButton />
        <CapturesBar />
        <ThemeToggle />
      </header>
      <TransportBanner />
      <PreviousSessionBanner />
      <div className="workspace">
        <aside className="sidebar">
          <ConnectionList />
          <ProxyPanel />
          <InterceptPanel />
        </aside>
        <Center />
        <Inspector />
      </div>
      <Notices />
      <CaDialog />
      <LaunchDialog />
    </div>
  );
}

/**
 * The middle column. Its own component: a change of selection redraws it, not the whole
 * window (the top bar, the sidebar and the dialogs have nothing new to show).
 */
function Center() {
  const hasSelection = useAppStore((s) => s.selectedConnection !== null && s.connections.has(s.selectedConnection));
  return (
    <main className="center">
      {hasSelection ? (
        <>
          <ConnectionHeader />
          <ReplayPanel />
          <SearchBar />
          <FrameToolbar />
          {/* the first time, drawn a task after the pane (later.tsx) */}
          <Later id="timeline">
            <TimelinePanel />
          </Later>
          <FrameList />
          <Later id="composer">
            <Composer />
          </Later>
        </>
      ) : (
        <EmptyCenter />
      )}
    </main>
  );
}

function EmptyCenter() {
  return (
    <div className="empty-center">
      <h2>No connection selected</h2>
      <p>
        Type a <code>ws://</code> or <code>wss://</code> URL above and press <kbd>Enter</kbd>, start the proxy on the left and point an
        app at it, or open a capture.
      </p>
    </div>
  );
}
