import { useCallback, useEffect, useRef, useState } from 'react';
import { isAbort } from './api.js';
import { useReport, type ReportError } from './session.js';

/** The location hash without '#', kept current. */
export function useHash(): string {
  const [hash, setHash] = useState(() => window.location.hash.slice(1));
  useEffect(() => {
    const onChange = () => setHash(window.location.hash.slice(1));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

/** `value`, once it has stayed the same for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/**
 * Runs `action` with the error reporter and a busy flag; returns whether it
 * succeeded. Errors become alerts (the shell's, or `reportTo`'s), never exceptions.
 */
export function useAction(reportTo?: ReportError): [busy: boolean, run: (action: () => Promise<unknown>) => Promise<boolean>] {
  const shellReport = useReport();
  const report = reportTo ?? shellReport;
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async (action: () => Promise<unknown>) => {
      setBusy(true);
      try {
        await action();
        return true;
      } catch (err) {
        report(err);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [report],
  );
  return [busy, run];
}

/**
 * Loads data with `load` whenever `deps` change, or on `reload()`; a load that
 * a newer one overtook is dropped. Errors become alerts.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): { data: T | undefined; reload: () => void; loading: boolean } {
  const report = useReport();
  const [data, setData] = useState<T>();
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    loadRef.current(abort.signal).then(
      (d) => {
        if (!abort.signal.aborted) setData(d);
      },
      (err: unknown) => {
        if (!abort.signal.aborted && !isAbort(err)) report(err);
      },
    ).finally(() => {
      if (!abort.signal.aborted) setLoading(false);
    });
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation, report]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, reload, loading };
}

/** Cursor paging: the token of the page shown, and the tokens before it to go back. */
export function usePages(): { pageToken: string; pages: string[]; setPages: (update: (pages: string[]) => string[]) => void; reset: () => void } {
  const [pages, setPages] = useState<string[]>(['']);
  return { pageToken: pages[pages.length - 1] ?? '', pages, setPages, reset: () => setPages(['']) };
}
