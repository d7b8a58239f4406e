import type { AuditManager } from '../domain/audit-manager.js';
import type { AuditServiceServer } from '../gen/roomgate/v1/audit_service.js';
import { toAuditEvent } from './audit-mapper.js';
import { unary, type UnaryDeps } from './unary.js';

/** gRPC handlers of roomgate.v1.AuditService. */
export function auditService(deps: UnaryDeps, audit: AuditManager): AuditServiceServer {
  return {
    listAuditEvents: unary(deps, 'ListAuditEvents', async (req, { principal }) => {
      const page = await audit.list(principal, req);
      return { auditEvents: page.items.map(toAuditEvent), nextPageToken: page.nextPageToken };
    }),
  };
}
