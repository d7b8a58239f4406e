// The deadline of the call being served, carried from the unary adapter to the
// store without threading it through every domain signature. Neutral ground:
// transport sets it and the store reads it; neither imports the other.
import { AsyncLocalStorage } from 'node:async_hooks';

interface Scope {
  /** Epoch milliseconds. */
  deadline: number;
  ended: boolean;
}

const storage = new AsyncLocalStorage<Scope>();

/**
 * Runs `fn` with `deadline` (epoch milliseconds) as the current call's
 * deadline. An infinite deadline sets none. The deadline stops applying once
 * `fn` settles: a timer or background write that the call happened to start
 * (and that inherits its async context) must not be held to it.
 */
export function withCallDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
  if (!Number.isFinite(deadline)) return fn();
  const scope: Scope = { deadline, ended: false };
  return storage.run(scope, fn).finally(() => {
    scope.ended = true;
  });
}

/** The current call's deadline in epoch milliseconds, or undefined outside a call or for a call without one. */
export function callDeadline(): number | undefined {
  const scope = storage.getStore();
  return scope && !scope.ended ? scope.deadline : undefined;
}
