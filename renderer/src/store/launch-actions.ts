// The Intercept panel: the browsers the engine found, and apps launched through its forward
// proxy (a browser, or a terminal command split into argv here).
import type { LaunchRequest } from '../../../shared/contract';
import { engine, notifyError } from './actions';
import { shellWords } from './shell-words';
import { useAppStore } from './store';

export async function loadLaunchTargets(): Promise<void> {
  try {
    const t = await engine().launchTargets();
    useAppStore.setState({ launchTargets: t.browsers, proxy: t.proxy ?? useAppStore.getState().proxy });
  } catch (err) {
    notifyError('Could not list the browsers', err);
  }
}

async function launch(req: LaunchRequest): Promise<boolean> {
  try {
    const app = await engine().launch(req);
    // The `app` event brings it too; whichever comes first, it is listed once.
    useAppStore.setState((s) => ({ apps: [...s.apps.filter((a) => a.id !== app.id), app] }));
    for (const note of app.notes ?? []) useAppStore.getState().notify('info', note);
    return true;
  } catch (err) {
    notifyError('Could not launch', err);
    return false;
  }
}

export async function launchBrowser(id: string): Promise<void> {
  const f = useAppStore.getState().launchForm;
  const url = f.url.trim();
  await launch({ browser: id, ...(url ? { url } : {}), ...(f.headless ? { headless: true } : {}) });
}

export async function launchCommand(): Promise<void> {
  const s = useAppStore.getState();
  const words = shellWords(s.launchForm.command);
  if ('error' in words) return s.notify('error', `Could not launch: ${words.error}`);
  if (await launch({ command: words.argv })) s.setLaunchForm({ command: '' });
}

export async function stopApp(id: number): Promise<void> {
  try {
    await engine().stopApp({ id });
  } catch (err) {
    notifyError('Could not stop the app', err);
  }
}
