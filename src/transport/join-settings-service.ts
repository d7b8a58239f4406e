import type { JoinSettingsManager } from '../domain/join-settings-manager.js';
import type { JoinCodeServiceServer } from '../gen/roomgate/v1/join_code_service.js';
import { unary, type UnaryDeps } from './unary.js';

/** The join settings methods of roomgate.v1.JoinCodeService, spread into its handlers (join-code-service.ts has the rest). */
export type JoinSettingsHandlers = Pick<JoinCodeServiceServer, 'getJoinSettings' | 'updateJoinSettings'>;

/** gRPC handlers of GetJoinSettings and UpdateJoinSettings. */
export function joinSettingsService(deps: UnaryDeps, settings: JoinSettingsManager): JoinSettingsHandlers {
  return {
    getJoinSettings: unary(deps, 'GetJoinSettings', async (_req, { principal }) => ({
      settings: await settings.get(principal),
    })),
    updateJoinSettings: unary(deps, 'UpdateJoinSettings', async (req, { principal }) => ({
      settings: await settings.update(principal, { settings: req.settings }),
    })),
  };
}
