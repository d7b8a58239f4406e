import { createContext, useContext } from 'react';
import type { Api } from './api.js';
import type { ScopeName } from './format.js';

/** The sessionStorage key of the token; never localStorage, the URL or a log. */
export const TOKEN_KEY = 'roomgate.console.token';

/** A signed-in console: the clients and what the token may do. */
export interface Session {
  api: Api;
  environment: 'sandbox' | 'production' | 'unspecified';
  scopes: ScopeName[];
  tokenName: string;
  /** admin or rooms: the scopes that change anything the console shows. */
  canWrite: boolean;
  isAdmin: boolean;
}

/** Shows a failed call as an alert. */
export type ReportError = (err: unknown) => void;

/** The session, for pages under the shell. */
export const SessionContext = createContext<Session | null>(null);
/** The shell's error reporter. */
export const ReportContext = createContext<ReportError>(() => undefined);

/** The current session; pages render only inside a signed-in shell. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('no session');
  return session;
}

/** The shell's error reporter. */
export function useReport(): ReportError {
  return useContext(ReportContext);
}
