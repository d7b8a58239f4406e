import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { errorText } from './api.js';
import type { ReportError } from './session.js';
import type { WatchState } from './watch.js';

/** One shown error. */
export interface AlertItem {
  id: number;
  text: string;
}

/** Failed calls as `CODE: message`, each in role=alert with a Dismiss button. */
export function Alerts({ alerts, dismiss }: { alerts: AlertItem[]; dismiss: (id: number) => void }) {
  return (
    <div className="alerts">
      {alerts.map((a) => (
        <div key={a.id} role="alert" className="alert">
          <span>{a.text}</span>
          <button type="button" className="link" onClick={() => dismiss(a.id)} aria-label={`Dismiss: ${a.text}`}>
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}

/**
 * Alerts of a dialog's own calls, shown inside it: a modal dialog hides the
 * shell's alerts behind it.
 */
export function useDialogAlerts(): [report: ReportError, alerts: ReactNode] {
  const [alerts, setAlerts] = useState<AlertItem[]>([]);
  const report = useCallback((err: unknown) => setAlerts([{ id: Date.now(), text: errorText(err) }]), []);
  return [report, <Alerts key="alerts" alerts={alerts} dismiss={() => setAlerts([])} />];
}

/**
 * A modal dialog named by its title. The browser's <dialog> traps focus,
 * closes on Escape and gives focus back to the opener.
 */
export function Dialog({ title, onCancel, children }: { title: string; onCancel: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={(e) => { e.preventDefault(); onCancel(); }}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

/** A secret or token in a read-only textbox, with a Copy button (named `button`, when a page shows two). */
export function CopyField({ label, value, note, button = 'Copy' }: { label: string; value: string; note?: string; button?: string }) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('Copied');
    } catch {
      // No clipboard (an insecure origin, or permission refused): select it for the user to copy.
      input.current?.select();
      setCopied('Selected: press Ctrl+C to copy');
    }
  };
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="row">
        <input id={id} ref={input} readOnly value={value} className="mono" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={() => void copy()}>
          {button}
        </button>
      </div>
      <p role="status" className="hint">
        {copied}
      </p>
      {note && <p className="note">{note}</p>}
    </div>
  );
}

/** How a live view's stream stands. */
export function WatchStatus({ state }: { state: WatchState }) {
  const text =
    state.kind === 'live'
      ? 'Live'
      : state.kind === 'connecting'
        ? 'Connecting…'
        : state.kind === 'stopped'
          ? 'Not live'
          : `Reconnecting in ${state.seconds} s (${state.error})`;
  return (
    <p className={`watch watch-${state.kind}`} role="status">
      {text}
    </p>
  );
}

/** A labelled input. */
export function Field({ label, children }: { label: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </div>
  );
}

/** A table's empty row. */
export function EmptyRow({ columns, text }: { columns: number; text: string }) {
  return (
    <tr>
      <td colSpan={columns} className="empty">
        {text}
      </td>
    </tr>
  );
}

/** Previous page and Next page buttons for {@link usePages}. */
export function Pager({ paging, next }: { paging: { pages: string[]; setPages: (update: (pages: string[]) => string[]) => void }; next: string | undefined }) {
  return (
    <div className="pager">
      {paging.pages.length > 1 && (
        <button type="button" onClick={() => paging.setPages((p) => p.slice(0, -1))}>
          Previous page
        </button>
      )}
      {next && (
        <button type="button" onClick={() => paging.setPages((p) => [...p, next])}>
          Next page
        </button>
      )}
    </div>
  );
}
