import { EmptyRow, Pager } from '../components.js';
import { enumName, eventTypeName, formatTime } from '../format.js';
import { DeliveryState, type WebhookDelivery } from '../gen/roomgate/v1/events_pb.js';
import { useAction, useLoad, usePages } from '../hooks.js';
import { useSession } from '../session.js';

/** One endpoint's delivery log, with Redeliver. */
export function DeliveriesPage({ endpointId }: { endpointId: string }) {
  const { api } = useSession();
  const paging = usePages();
  const { pageToken } = paging;
  const endpoint = useLoad((signal) => api.events.getWebhookEndpoint({ endpointId }, { signal }), [api, endpointId]);
  const { data, reload, loading } = useLoad(
    (signal) => api.events.listWebhookDeliveries({ endpointId, pageSize: 50, pageToken }, { signal }),
    [api, endpointId, pageToken],
  );
  return (
    <section aria-labelledby="deliveries-h">
      <p className="crumbs">
        <a href="#/webhooks">Webhooks</a>
      </p>
      <h1 id="deliveries-h" tabIndex={-1}>
        Deliveries
      </h1>
      <p>
        Endpoint <span className="mono">{endpoint.data?.endpoint?.url ?? endpointId}</span>
      </p>
      <div className="toolbar">
        <button type="button" onClick={reload} disabled={loading}>
          Refresh
        </button>
      </div>
      <table aria-label="Deliveries">
        <thead>
          <tr>
            <th scope="col">Event ID</th>
            <th scope="col">Type</th>
            <th scope="col">State</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last status</th>
            <th scope="col">Last error</th>
            <th scope="col">Next attempt</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {data?.deliveries.length === 0 && <EmptyRow columns={8} text="No deliveries yet." />}
          {data?.deliveries.map((d) => <DeliveryRow key={d.eventId} delivery={d} onChanged={reload} />)}
        </tbody>
      </table>
      <Pager paging={paging} next={data?.nextPageToken} />
    </section>
  );
}

/** One delivery; Redeliver queues the event again for this endpoint. */
function DeliveryRow({ delivery, onChanged }: { delivery: WebhookDelivery; onChanged: () => void }) {
  const { api, canWrite } = useSession();
  const [busy, run] = useAction();
  const redeliver = () =>
    void run(() => api.events.redeliverEvent({ eventId: delivery.eventId, endpointId: delivery.endpointId })).then((ok) => ok && onChanged());
  return (
    <tr>
      <td className="mono">{delivery.eventId}</td>
      <td>{eventTypeName(delivery.eventType)}</td>
      <td>{enumName(DeliveryState, delivery.state, '')}</td>
      <td className="num">{delivery.attempts}</td>
      <td className="num">{delivery.lastStatusCode || '—'}</td>
      <td>{delivery.lastError || '—'}</td>
      <td>{formatTime(delivery.nextAttemptTime)}</td>
      <td>
        {canWrite ? (
          <button type="button" disabled={busy} onClick={redeliver}>
            Redeliver
          </button>
        ) : (
          '—'
        )}
      </td>
    </tr>
  );
}
