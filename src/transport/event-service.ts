import type { handleServerStreamingCall } from '@grpc/grpc-js';
import type { WebhookManager } from '../domain/webhook-manager.js';
import type { EventServiceServer, WatchEventsRequest, WatchEventsResponse } from '../gen/roomgate/v1/event_service.js';
import { fromEventTypes } from './event-mapper.js';
import { unary, type UnaryDeps } from './unary.js';
import { toWebhookDelivery, toWebhookEndpoint } from './webhook-mappers.js';

/** The domain managers behind EventService's unary methods. */
export interface EventServiceManagers {
  webhooks: WebhookManager;
}

/**
 * gRPC handlers of roomgate.v1.EventService. WatchEvents is a server stream
 * built elsewhere and passed in as it is.
 */
export function eventService(
  deps: UnaryDeps,
  m: EventServiceManagers,
  watchEvents: handleServerStreamingCall<WatchEventsRequest, WatchEventsResponse>,
): EventServiceServer {
  return {
    createWebhookEndpoint: unary(deps, 'CreateWebhookEndpoint', async (req, { principal }) => {
      const { endpoint, secret } = await m.webhooks.create(principal, {
        url: req.url,
        eventTypes: fromEventTypes(req.eventTypes),
        roomId: req.roomId,
        description: req.description,
      });
      return { endpoint: toWebhookEndpoint(endpoint), secret };
    }),
    getWebhookEndpoint: unary(deps, 'GetWebhookEndpoint', async (req, { principal }) => ({
      endpoint: toWebhookEndpoint(await m.webhooks.get(principal, req.endpointId)),
    })),
    listWebhookEndpoints: unary(deps, 'ListWebhookEndpoints', async (req, { principal }) => {
      const page = await m.webhooks.list(principal, req.pageSize, req.pageToken);
      return { endpoints: page.items.map(toWebhookEndpoint), nextPageToken: page.nextPageToken };
    }),
    updateWebhookEndpoint: unary(deps, 'UpdateWebhookEndpoint', async (req, { principal }) => ({
      endpoint: toWebhookEndpoint(
        await m.webhooks.update(principal, {
          endpointId: req.endpointId,
          url: req.url,
          description: req.description,
          enabled: req.enabled,
          eventTypes: req.replaceEventTypes ? fromEventTypes(req.eventTypes) : undefined,
        }),
      ),
    })),
    deleteWebhookEndpoint: unary(deps, 'DeleteWebhookEndpoint', async (req, { principal }) => {
      await m.webhooks.delete(principal, req.endpointId);
      return {};
    }),
    rotateWebhookSecret: unary(deps, 'RotateWebhookSecret', async (req, { principal }) => {
      const { endpoint, secret } = await m.webhooks.rotateSecret(principal, req.endpointId, req.graceSeconds);
      return { endpoint: toWebhookEndpoint(endpoint), secret };
    }),
    listWebhookDeliveries: unary(deps, 'ListWebhookDeliveries', async (req, { principal }) => {
      const page = await m.webhooks.listDeliveries(principal, req.endpointId, req.pageSize, req.pageToken);
      return { deliveries: page.items.map(toWebhookDelivery), nextPageToken: page.nextPageToken };
    }),
    redeliverEvent: unary(deps, 'RedeliverEvent', async (req, { principal }) => ({
      delivery: toWebhookDelivery(await m.webhooks.redeliver(principal, req.eventId, req.endpointId)),
    })),
    sendTestWebhookEvent: unary(deps, 'SendTestWebhookEvent', async (req, { principal }) => ({
      delivery: toWebhookDelivery(await m.webhooks.sendTest(principal, req.endpointId)),
    })),
    watchEvents,
  };
}
