import { useEffect, useMemo, useRef, type ReactNode } from 'react';
import { useHash } from './hooks.js';
import { AuditPage } from './pages/audit.js';
import { BansPage } from './pages/bans.js';
import { DeliveriesPage } from './pages/deliveries.js';
import { EventsPage } from './pages/events.js';
import { JoinCodesPage } from './pages/join-codes.js';
import { KeysPage } from './pages/keys.js';
import { RolesPage } from './pages/roles.js';
import { RoomPage } from './pages/room.js';
import { RoomsPage } from './pages/rooms.js';
import { TokensPage } from './pages/tokens.js';
import { WebhooksPage } from './pages/webhooks.js';
import { ReportContext, useReport, useSession, type ReportError } from './session.js';

const NAV: [href: string, label: string][] = [
  ['#/rooms', 'Rooms'],
  ['#/roles', 'Roles'],
  ['#/join-codes', 'Join codes'],
  ['#/events', 'Events'],
  ['#/webhooks', 'Webhooks'],
  ['#/tokens', 'Management tokens'],
  ['#/keys', 'Signing keys'],
  ['#/bans', 'Bans'],
  ['#/audit', 'Audit log'],
];

/** The page for a hash route such as `/rooms/<id>`; unknown routes show the rooms. */
function page(route: string): ReactNode {
  const [, section = '', id] = route.split('/').map((s) => decodeURIComponent(s));
  switch (section) {
    case 'rooms':
      return id ? <RoomPage key={id} roomId={id} /> : <RoomsPage />;
    case 'roles':
      return <RolesPage />;
    case 'join-codes':
      return <JoinCodesPage />;
    case 'events':
      return <EventsPage />;
    case 'webhooks':
      return id ? <DeliveriesPage key={id} endpointId={id} /> : <WebhooksPage />;
    case 'tokens':
      return <TokensPage />;
    case 'keys':
      return <KeysPage />;
    case 'bans':
      return <BansPage />;
    case 'audit':
      return <AuditPage />;
    default:
      return <RoomsPage />;
  }
}

/** The signed-in frame: header, navigation, alerts and the current page. */
export function Shell({ onSignOut, onNavigate, alerts }: { onSignOut: () => void; onNavigate: () => void; alerts: ReactNode }) {
  const session = useSession();
  const hash = useHash();
  const route = hash.startsWith('/') ? hash : '/rooms';
  const main = useRef<HTMLElement>(null);
  const section = route.split('/')[1] ?? '';
  // Each page shown gets its own reporter; one of a page no longer shown drops
  // what it is given, so a call still in flight when the page changed cannot
  // bring back an alert that navigation cleared.
  const report = useReport();
  const shown = useRef<ReportError>(undefined);
  const pageReport = useMemo<ReportError>(() => {
    const own: ReportError = (err) => {
      if (shown.current === own) report(err);
    };
    return own;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [route, report]);
  // A new page drops the last page's alerts, and moves focus to its heading as a page load would for screen readers.
  useEffect(() => {
    shown.current = pageReport;
    onNavigate();
    main.current?.querySelector('h1')?.focus();
  }, [route, pageReport, onNavigate]);
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); main.current?.querySelector('h1')?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <span className="brand">roomgate</span>
        <dl className="who">
          <dt>Environment</dt>
          <dd aria-label="Environment" className={`env env-${session.environment}`}>
            {session.environment}
          </dd>
          <dt>Scopes</dt>
          <dd aria-label="Scopes">{session.scopes.join(', ')}</dd>
          {session.tokenName && (
            <>
              <dt>Token</dt>
              <dd>{session.tokenName}</dd>
            </>
          )}
        </dl>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Console">
        <ul>
          {NAV.map(([href, label]) => (
            <li key={href}>
              <a href={href} aria-current={section === href.slice(2) ? 'page' : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main}>
        {!session.canWrite && (
          <p role="status" className="read-only">
            Read-only: this token cannot make changes
          </p>
        )}
        {alerts}
        <ReportContext.Provider value={pageReport}>{page(route)}</ReportContext.Provider>
      </main>
    </>
  );
}
