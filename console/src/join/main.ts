// The join page at /join/<code>: asks for a name, redeems the code over
// gRPC-Web on this origin, and hands the peer token to the app the server
// names, in the URL fragment (docs/join-codes.md). It reads nothing from its
// own URL but the code in the path: a redirect target in the query is never
// looked at, so the page cannot be made into an open redirect.
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { JoinCodeService } from '../gen/roomgate/v1/join_code_service_pb.js';
import { handOffUrl } from './hand-off.js';
import { messageFor } from './messages.js';
import './join.css';

// The last segment of /join/<code>, as the server's route accepts it (src/http/join-page-routes.ts).
const CODE = /\/join\/([A-Za-z0-9_-]{6,128})$/;
const CALL_TIMEOUT_MS = 15_000;

const form = document.getElementById('join-form') as HTMLFormElement;
const name = document.getElementById('display-name') as HTMLInputElement;
const button = document.getElementById('join-button') as HTMLButtonElement;
const status = document.getElementById('join-status') as HTMLElement;
const alert = document.getElementById('join-alert') as HTMLElement;

const code = CODE.exec(window.location.pathname)?.[1];
const client = createClient(JoinCodeService, createGrpcWebTransport({ baseUrl: window.location.origin }));

function fail(message: string, field = false): void {
  status.textContent = '';
  alert.textContent = message;
  name.setAttribute('aria-invalid', String(field));
  button.disabled = false;
  if (field) name.focus();
}

async function join(): Promise<void> {
  alert.textContent = '';
  const displayName = name.value.trim();
  if (!code) return fail('This invitation link is incomplete. Open the whole link you were sent.');
  if (displayName === '') return fail('Enter your name to join.', true);
  button.disabled = true;
  status.textContent = 'Joining…';
  try {
    const res = await client.redeemJoinCode({ code, displayName, requireAppUrl: true }, { timeoutMs: CALL_TIMEOUT_MS });
    const target = handOffUrl(res);
    if (!target) return fail('This invitation link cannot be used here: no app is set up to receive it. Ask the person who sent it.');
    status.textContent = 'Joined. Opening the app…';
    // replace, not assign: the join link leaves the history, so Back does not return to a used code.
    window.location.replace(target);
  } catch (err) {
    fail(messageFor(err));
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void join();
});
