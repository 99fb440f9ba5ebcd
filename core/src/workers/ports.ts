import type { WorkerHeartbeatRow } from '../storage/repositories/worker-repository.js';

export type { WorkerHeartbeatRow };

/** Where workers write their heartbeats and `erpc workers list` reads them. */
export interface WorkerHeartbeatStore {
  register(w: { id: string; host: string; pid: number; inFlight: number; intervalMs: number }): Promise<void>;
  /** False when the row is gone. */
  beat(id: string, inFlight: number): Promise<boolean>;
  remove(id: string): Promise<void>;
  list(staleAfterIntervals: number): Promise<WorkerHeartbeatRow[]>;
}
