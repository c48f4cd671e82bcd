// The session's rules: plain functions that talk to the engine. Setting them resolves with
// the engine's complaint (the rules parser's one line, naming the rule and the field) for the
// form to show where it was typed; the rest turn a failure into a notice.
import { RULES_FILE_LIMIT, type FileBlob } from '../../../shared/contract';
import type { RuleSpec } from '../../../shared/rules-spec';
import { engine, fileToBlob, saveBlob } from './actions';
import { useAppStore } from './store';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Replaces the rules; resolves with the engine's complaint, or null. */
export async function saveRules(rules: RuleSpec[]): Promise<string | null> {
  try {
    useAppStore.setState({ rules: await engine().setRules({ rules }) });
    return null;
  } catch (err) {
    return message(err);
  }
}

export async function enableRule(index: number, enabled: boolean): Promise<void> {
  try {
    useAppStore.setState({ rules: await engine().enableRule({ index, enabled }) });
  } catch (err) {
    useAppStore.getState().notify('error', `Could not turn rule ${index} ${enabled ? 'on' : 'off'}: ${message(err)}`);
  }
}

/** The rules as `rules.json` (what `framescope proxy --rules FILE` loads): a dialog or a download. */
export async function exportRules(): Promise<void> {
  try {
    await saveBlob(await engine().exportRules());
  } catch (err) {
    useAppStore.getState().notify('error', `Could not save the rules: ${message(err)}`);
  }
}

/** Loads a rules file in place of the rules: the shell's dialog on the desktop; in a browser the caller passes the picked file. */
export async function importRules(file?: File): Promise<void> {
  const s = useAppStore.getState();
  try {
    let blob: FileBlob | null;
    if (file && file.size > RULES_FILE_LIMIT) throw new Error(`${file.name}: ${file.size} bytes; a rules file may be at most ${RULES_FILE_LIMIT}`);
    if (file) blob = await fileToBlob(file);
    else blob = (await engine().shell?.openFile()) ?? null;
    if (!blob) return;
    const state = await engine().importRules(blob);
    useAppStore.setState({ rules: state });
    s.notify('info', `Loaded ${blob.filename}: ${state.rules.length} rule${state.rules.length === 1 ? '' : 's'}`);
  } catch (err) {
    // The engine's message names the file already.
    s.notify('error', `Could not load the rules: ${message(err)}`);
  }
}
