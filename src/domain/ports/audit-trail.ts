import type { AuditTarget } from '../audit-record.js';
import type { Environment } from '../principal.js';

/**
 * Audit records of calls that change nothing in the database. A change's own
 * record is not written through this port: the store appends it in the
 * change's transaction. The call (actor, method, request id) is the one being
 * served; outside an audited call both methods do nothing.
 */
export interface AuditTrail {
  /** Records the call, which acted on `targets` without a write (IssuePeerToken mints a credential), in a transaction of its own. */
  recordAlone(environment: Environment, targets: AuditTarget[]): Promise<void>;
  /** Records the call as refused after authentication with `errorReason` (ERR_PERMISSION_DENIED), in a transaction of its own. */
  recordRefusal(errorReason: string): Promise<void>;
}
