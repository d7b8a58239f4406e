/** An attempt's abort signal, and the release of what keeps it armed. */
export interface AttemptDeadline {
  signal: AbortSignal;
  /** Clears the timer and the stop listener; call it when the attempt ends. */
  release: () => void;
}

/**
 * The signal of one webhook attempt: it aborts when `timeoutMs` runs out or
 * `stopping` aborts. It is built from a timer the attempt holds and a
 * listener on the stop signal, never from AbortSignal.any with
 * AbortSignal.timeout: on Node 20 the timeout signal can be garbage-collected
 * before it fires (nodejs/node#57736), and the attempt then waits as long as
 * the receiver keeps the socket open.
 */
export function attemptDeadline(stopping: AbortSignal, timeoutMs: number): AttemptDeadline {
  const controller = new AbortController();
  const onStop = () => controller.abort(stopping.reason);
  if (stopping.aborted) onStop();
  else stopping.addEventListener('abort', onStop, { once: true });
  const timer = setTimeout(
    () => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  );
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer);
      stopping.removeEventListener('abort', onStop);
    },
  };
}
