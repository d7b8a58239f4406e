import { Code, ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema, RetryInfoSchema } from '../gen/google/rpc/error_details_pb.js';

/** The roomgate error code (ErrorInfo reason) of a failed call, if it has one. */
function reasonOf(err: ConnectError): string {
  return err.findDetails(ErrorInfoSchema)[0]?.reason ?? '';
}

/** Seconds to wait before trying again, from RetryInfo or ErrorInfo's retryAfterSeconds. */
function retrySeconds(err: ConnectError): number | undefined {
  const delay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  if (delay && delay.seconds > 0n) return Number(delay.seconds);
  const fromInfo = Number(err.findDetails(ErrorInfoSchema)[0]?.metadata.retryAfterSeconds);
  return fromInfo > 0 ? Math.ceil(fromInfo) : undefined;
}

/** What the person joining is told when redeeming the code failed. */
export function messageFor(error: unknown): string {
  const err = ConnectError.from(error);
  switch (err.code) {
    case Code.Unauthenticated:
      // The server gives one message for unknown, expired, revoked and used-up codes; so does the page.
      return 'This invitation link is no longer valid. It may have expired, been revoked or been used up. Ask the person who sent it for a new one.';
    case Code.ResourceExhausted: {
      const seconds = retrySeconds(err);
      return seconds === undefined
        ? 'Too many attempts to join. Wait a little and try again.'
        : `Too many attempts to join. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`;
    }
    case Code.FailedPrecondition:
      switch (reasonOf(err)) {
        case 'ERR_ROOM_FULL':
          return 'The room is full. Try again later, or ask the person who invited you.';
        case 'ERR_IDENTITY_BANNED':
          return 'You cannot join this room: you have been banned from it.';
        case 'ERR_NO_APP_URL':
          return 'This invitation link cannot be used here: no app is set up to receive it. Ask the person who sent it.';
        default:
          return `You cannot join this room right now: ${err.rawMessage}`;
      }
    case Code.InvalidArgument:
      if (reasonOf(err) === 'ERR_APP_URL_NOT_ALLOWED') {
        return 'This invitation link points to an app that is no longer allowed to receive invitations. Ask the person who sent it for a new one.';
      }
      return `Check what you entered: ${err.rawMessage}`;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return 'The server could not be reached. Check your connection and try again.';
    default:
      return 'Something went wrong while joining. Try again later.';
  }
}
