import { useCallback, useEffect, useRef, useState } from 'react';
import { createApi, errorText } from './api.js';
import { Alerts, type AlertItem } from './components.js';
import { scopeNames } from './format.js';
import { Environment } from './gen/roomgate/v1/resources_pb.js';
import { ReportContext, SessionContext, TOKEN_KEY, type Session } from './session.js';
import { Shell } from './shell.js';
import { SignIn } from './sign-in.js';

/** Checks `token` with GetCurrentManagementToken and builds a session from the answer. */
async function openSession(token: string): Promise<Session> {
  const api = createApi(token);
  const { token: current } = await api.tokens.getCurrentManagementToken({});
  const scopes = scopeNames(current?.scopes ?? []);
  const environment = current?.environment === Environment.PRODUCTION ? 'production' : current?.environment === Environment.SANDBOX ? 'sandbox' : 'unspecified';
  return {
    api,
    environment,
    scopes,
    tokenName: current?.name ?? '',
    canWrite: scopes.includes('admin') || scopes.includes('rooms'),
    isAdmin: scopes.includes('admin'),
  };
}

/** The console: the sign-in form, or the signed-in shell. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(() => sessionStorage.getItem(TOKEN_KEY) !== null);
  const [alerts, setAlerts] = useState<AlertItem[]>([]);
  const nextId = useRef(1);

  const report = useCallback((err: unknown) => {
    const text = errorText(err);
    setAlerts((list) => [...list.filter((a) => a.text !== text), { id: nextId.current++, text }]);
  }, []);
  const dismiss = useCallback((id: number) => setAlerts((list) => list.filter((a) => a.id !== id)), []);
  const clearAlerts = useCallback(() => setAlerts([]), []);

  const signIn = useCallback(
    async (token: string) => {
      try {
        const opened = await openSession(token);
        sessionStorage.setItem(TOKEN_KEY, token);
        setAlerts([]);
        setSession(opened);
      } catch (err) {
        sessionStorage.removeItem(TOKEN_KEY);
        report(err);
      }
    },
    [report],
  );

  useEffect(() => {
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) void signIn(saved).finally(() => setChecking(false));
  }, [signIn]);

  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setAlerts([]);
    setSession(null);
  }, []);

  return (
    <ReportContext.Provider value={report}>
      {session ? (
        <SessionContext.Provider value={session}>
          <Shell onSignOut={signOut} onNavigate={clearAlerts} alerts={<Alerts alerts={alerts} dismiss={dismiss} />} />
        </SessionContext.Provider>
      ) : (
        <SignIn checking={checking} onSignIn={signIn} alerts={<Alerts alerts={alerts} dismiss={dismiss} />} />
      )}
    </ReportContext.Provider>
  );
}
