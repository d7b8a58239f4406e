import { Code, ConnectError } from '@connectrpc/connect';
import { useEffect, useRef, useState } from 'react';
import { errorText, isAbort, isPermanent } from './api.js';
import { ErrorInfoSchema } from './gen/google/rpc/error_details_pb.js';
import type { Event, EventType } from './gen/roomgate/v1/events_pb.js';
import { useReport, useSession } from './session.js';

/** What a live view shows about its stream. */
export type WatchState = { kind: 'connecting' } | { kind: 'live' } | { kind: 'retrying'; error: string; seconds: number } | { kind: 'stopped' };

/** Filters of a watch; a change starts a new stream from now. */
export interface WatchFilter {
  roomId?: string;
  types?: EventType[];
  /** False pauses the stream; it resumes from the last cursor. */
  enabled?: boolean;
}

const MAX_BACKOFF_MS = 15_000;

/**
 * Follows WatchEvents from now, calling `onEvent` for each event. The stream is
 * `live` once the server's response headers arrive: the server sends them, with
 * `roomgate-start-cursor`, exactly when it has fixed where the stream starts,
 * and that cursor is kept to resume after until an event or heartbeat moves
 * it. `onStart` is called then for every stream that started from now (the
 * first, and any after the place was lost): a view reads its list in it, so
 * that list and stream together miss nothing (what they both hold must be
 * applied idempotently). After a failure the stream starts again with backoff
 * (1 s doubling to 15 s), resuming after the last cursor seen, so nothing
 * between is lost; a cursor too old (OUT_OF_RANGE) starts it from now again.
 * Errors that retrying cannot fix (a missing scope, a bad filter) stop it
 * with an alert.
 */
export function useWatch(filter: WatchFilter, onEvent: (event: Event) => void, onStart?: () => void): WatchState {
  const { api } = useSession();
  const report = useReport();
  const [state, setState] = useState<WatchState>({ kind: 'connecting' });
  const onEventRef = useRef(onEvent);
  onEventRef.current = onEvent;
  const onStartRef = useRef(onStart);
  onStartRef.current = onStart;
  const cursor = useRef('');
  const key = `${filter.roomId ?? ''}|${(filter.types ?? []).join(',')}`;
  const lastKey = useRef(key);
  const enabled = filter.enabled ?? true;

  useEffect(() => {
    // A new filter starts from now; a pause keeps the cursor to resume after it.
    if (lastKey.current !== key) {
      cursor.current = '';
      lastKey.current = key;
    }
    if (!enabled) {
      setState({ kind: 'stopped' });
      return;
    }
    const abort = new AbortController();
    const run = async () => {
      let backoff = 1000;
      while (!abort.signal.aborted) {
        setState({ kind: 'connecting' });
        try {
          const fromNow = cursor.current === '';
          const stream = api.events.watchEvents(
            { afterCursor: cursor.current, roomId: filter.roomId ?? '', types: filter.types ?? [], heartbeatIntervalSeconds: 10 },
            {
              signal: abort.signal,
              onHeader: (headers) => {
                if (abort.signal.aborted) return;
                const start = headers.get('roomgate-start-cursor');
                if (start) cursor.current = start;
                setState({ kind: 'live' });
                if (fromNow) onStartRef.current?.();
              },
            },
          );
          for await (const message of stream) {
            backoff = 1000;
            if (message.event) {
              cursor.current = message.event.cursor;
              onEventRef.current(message.event);
            } else if (message.heartbeat) {
              cursor.current = message.heartbeat.cursor;
            }
          }
        } catch (err) {
          if (abort.signal.aborted || isAbort(err)) return;
          const error = ConnectError.from(err);
          // A stream the server ends (shutting down, a consumer too slow) says where to resume.
          const resume = error.findDetails(ErrorInfoSchema).find((info) => info.metadata.resumeCursor)?.metadata.resumeCursor;
          if (resume) cursor.current = resume;
          if (error.code === Code.OutOfRange) cursor.current = '';
          else if (isPermanent(err)) {
            report(err);
            setState({ kind: 'stopped' });
            return;
          }
          setState({ kind: 'retrying', error: errorText(err), seconds: Math.round(backoff / 1000) });
        }
        // An ended stream (a server shutting down) is followed again too.
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    };
    void run();
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, key, enabled, report]);
  return state;
}
