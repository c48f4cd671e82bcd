// The renderer's entry: remember the prefs, pick the transport, bind it to the store, draw.
import './styles/app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App';
import { NoEngine } from './components/NoEngine';
import { bindClient } from './store/actions';
import { loadPrefs, localStorageOrNull, savePrefs } from './store/prefs';
import { useAppStore } from './store/store';
import { pickClient } from './transport/pick-client';

const storage = localStorageOrNull();
useAppStore.setState({ prefs: loadPrefs(storage) });
useAppStore.subscribe((s, prev) => {
  if (s.prefs !== prev.prefs) savePrefs(storage, s.prefs);
});

const root = createRoot(document.getElementById('root')!);

pickClient(window).then(
  (picked) => {
    if ('error' in picked) {
      root.render(<NoEngine message={picked.error} />);
      return;
    }
    bindClient(picked.client);
    window.addEventListener('pagehide', () => picked.client.dispose());
    root.render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
  },
  (err: unknown) => root.render(<NoEngine message={err instanceof Error ? err.message : String(err)} />),
);
