import { useState, type FormEvent } from 'react';
import { CopyField, EmptyRow, Field, Pager } from '../components.js';
import { eventTypeName } from '../format.js';
import type { WebhookEndpoint } from '../gen/roomgate/v1/events_pb.js';
import { useAction, useLoad, usePages } from '../hooks.js';
import { useSession } from '../session.js';

const SECRET_NOTE = 'This secret will not be shown again: store it now. Deliveries are signed with it.';
// After a rotation the old secret signs too for a day, so receivers can switch without dropping deliveries.
const ROTATE_GRACE_SECONDS = 86_400;

/** Webhook endpoints: create, disable or enable, rotate the secret, send a test event. */
export function WebhooksPage() {
  const { api, canWrite } = useSession();
  const paging = usePages();
  const { pageToken } = paging;
  // For a token without rooms or admin this shows the server's PERMISSION_DENIED: the console decides nothing the server does.
  const { data, reload } = useLoad((signal) => api.events.listWebhookEndpoints({ pageSize: 50, pageToken }, { signal }), [api, pageToken]);
  const [secret, setSecret] = useState<{ url: string; secret: string }>();
  return (
    <section aria-labelledby="webhooks-h">
      <h1 id="webhooks-h" tabIndex={-1}>
        Webhooks
      </h1>
      {canWrite && (
        <CreateEndpoint
          onCreated={(endpoint, s) => {
            setSecret({ url: endpoint.url, secret: s });
            reload();
          }}
        />
      )}
      {secret && (
        <div className="panel secret">
          <p>
            Signing secret of <span className="mono">{secret.url}</span>
          </p>
          <CopyField label="Signing secret" value={secret.secret} note={SECRET_NOTE} />
          <button type="button" className="secondary" onClick={() => setSecret(undefined)}>
            Done
          </button>
        </div>
      )}
      <table aria-label="Webhook endpoints">
        <thead>
          <tr>
            <th scope="col">URL</th>
            <th scope="col">Description</th>
            <th scope="col">Status</th>
            <th scope="col">Event types</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {data?.endpoints.length === 0 && <EmptyRow columns={5} text="No webhook endpoints yet." />}
          {data?.endpoints.map((endpoint) => (
            <EndpointRow key={endpoint.id} endpoint={endpoint} onChanged={reload} onSecret={(s) => setSecret({ url: endpoint.url, secret: s })} />
          ))}
        </tbody>
      </table>
      <Pager paging={paging} next={data?.nextPageToken} />
    </section>
  );
}

/** One endpoint with its actions. */
function EndpointRow({ endpoint, onChanged, onSecret }: { endpoint: WebhookEndpoint; onChanged: () => void; onSecret: (secret: string) => void }) {
  const { api, canWrite } = useSession();
  const [busy, run] = useAction();
  const [sent, setSent] = useState('');
  const endpointId = endpoint.id;
  const toggle = () => void run(() => api.events.updateWebhookEndpoint({ endpointId, enabled: !endpoint.enabled })).then((ok) => ok && onChanged());
  const rotate = () =>
    void run(async () => {
      const rotated = await api.events.rotateWebhookSecret({ endpointId, graceSeconds: ROTATE_GRACE_SECONDS });
      onSecret(rotated.secret);
      onChanged();
    });
  const test = () =>
    void run(async () => {
      setSent('');
      await api.events.sendTestWebhookEvent({ endpointId });
      setSent('Test event queued.');
    });
  return (
    <tr>
      <td className="mono">{endpoint.url}</td>
      <td>{endpoint.description}</td>
      <td>
        {endpoint.enabled ? 'Enabled' : 'Disabled'}
        {!endpoint.enabled && endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}
      </td>
      <td>{endpoint.eventTypes.length === 0 ? 'All' : endpoint.eventTypes.map(eventTypeName).join(', ')}</td>
      <td>
        <div className="row">
          {canWrite && (
            <>
              <button type="button" disabled={busy} onClick={toggle}>
                {endpoint.enabled ? 'Disable' : 'Enable'}
              </button>
              <button type="button" disabled={busy} onClick={rotate}>
                Rotate secret
              </button>
              <button type="button" disabled={busy} onClick={test}>
                Send test event
              </button>
            </>
          )}
          <a href={`#/webhooks/${encodeURIComponent(endpoint.id)}`}>Deliveries</a>
        </div>
        {sent && <p role="status" className="hint">{sent}</p>}
      </td>
    </tr>
  );
}

/** The create-endpoint form; every event type unless the server is told otherwise. */
function CreateEndpoint({ onCreated }: { onCreated: (endpoint: WebhookEndpoint, secret: string) => void }) {
  const { api } = useSession();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [busy, run] = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await run(async () => {
      const created = await api.events.createWebhookEndpoint({ url: url.trim(), description: description.trim() });
      if (created.endpoint) onCreated(created.endpoint, created.secret);
      setUrl('');
      setDescription('');
    });
  };
  return (
    <form className="panel" aria-label="Create endpoint" onSubmit={(e) => void submit(e)}>
      <Field label="Endpoint URL">{(id) => <input id={id} type="url" required value={url} placeholder="https://example.com/roomgate" onChange={(e) => setUrl(e.target.value)} />}</Field>
      <Field label="Description">{(id) => <input id={id} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <button type="submit" disabled={busy}>
        Create endpoint
      </button>
    </form>
  );
}
