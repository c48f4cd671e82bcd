// Breakpoints, held messages and injection: plain functions that talk to the engine and
// turn a failure into a notice (or, for a breakpoint's condition, into the error returned
// for the field that shows it).
import type { HeldDecision, InjectRequest } from '../../../shared/contract';
import { engine } from './actions';
import { useAppStore } from './store';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Sets (on) or clears one direction's breakpoint, of one connection or of all (connection
 * absent). Resolves with the engine's complaint about the condition, or null.
 */
export async function setIntercept(from: 'client' | 'server', on: boolean, condition: string, connection?: string): Promise<string | null> {
  try {
    const state = await engine().setIntercept({ from, on, ...(condition.trim() ? { condition } : {}), ...(connection ? { connection } : {}) });
    useAppStore.setState({ intercept: state });
    return null;
  } catch (err) {
    return message(err);
  }
}

export async function decideHeld(id: number, decision: HeldDecision): Promise<boolean> {
  try {
    await engine().decideHeld({ id, decision });
    return true;
  } catch (err) {
    useAppStore.getState().notify('error', `Could not ${decision.action} the held message: ${message(err)}`);
    return false;
  }
}

export async function forwardAll(connection?: string): Promise<void> {
  try {
    await engine().forwardAll(connection ? { connection } : {});
  } catch (err) {
    useAppStore.getState().notify('error', `Forward all failed: ${message(err)}`);
  }
}

export async function inject(req: InjectRequest): Promise<boolean> {
  try {
    await engine().inject(req);
    return true;
  } catch (err) {
    useAppStore.getState().notify('error', `Inject failed: ${message(err)}`, req.connection);
    return false;
  }
}
