import type { Knex } from 'knex';
import { toDate } from './rows.js';

/** A worker's heartbeat row. */
export interface WorkerHeartbeatRow {
  id: string;
  host: string;
  pid: number;
  startedAt: Date;
  lastSeenAt: Date;
  inFlight: number;
  intervalMs: number;
  /** Whether `staleAfterIntervals` heartbeat intervals passed since `lastSeenAt`, by the database's clock. */
  stale: boolean;
}

interface DbHeartbeat {
  id: string;
  host: string;
  pid: number;
  started_at: Date | string;
  last_seen_at: Date | string;
  in_flight: number;
  interval_ms: number;
  stale: boolean;
}

/** The `worker_heartbeat` table. Times are the database's (`now()`), so workers' clocks do not matter. */
export class WorkerRepository {
  constructor(private readonly db: Knex) {}

  /** Inserts (or replaces) the worker's row: started and seen now. */
  async register(w: { id: string; host: string; pid: number; inFlight: number; intervalMs: number }): Promise<void> {
    await this.db.raw(
      `INSERT INTO worker_heartbeat (id, host, pid, started_at, last_seen_at, in_flight, interval_ms)
       VALUES (?, ?, ?, now(), now(), ?, ?)
       ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at,
         last_seen_at = EXCLUDED.last_seen_at, in_flight = EXCLUDED.in_flight, interval_ms = EXCLUDED.interval_ms`,
      [w.id, w.host, w.pid, w.inFlight, w.intervalMs],
    );
  }

  /** One heartbeat; false when the row is gone (deleted by hand): the caller registers again. */
  async beat(id: string, inFlight: number): Promise<boolean> {
    const n = await this.db('worker_heartbeat').where({ id }).update({ last_seen_at: this.db.fn.now(), in_flight: inFlight });
    return n > 0;
  }

  async remove(id: string): Promise<void> {
    await this.db('worker_heartbeat').where({ id }).delete();
  }

  /** Every row, newest start first; stale when `staleAfterIntervals` of its intervals passed without a beat. */
  async list(staleAfterIntervals: number): Promise<WorkerHeartbeatRow[]> {
    const result = await this.db.raw(
      `SELECT id, host, pid, started_at, last_seen_at, in_flight, interval_ms,
              last_seen_at < now() - (? * interval_ms) * interval '1 millisecond' AS stale
       FROM worker_heartbeat ORDER BY started_at DESC, id`,
      [staleAfterIntervals],
    );
    const rows = (result as { rows?: DbHeartbeat[] }).rows ?? [];
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      pid: Number(r.pid),
      startedAt: toDate(r.started_at),
      lastSeenAt: toDate(r.last_seen_at),
      inFlight: Number(r.in_flight),
      intervalMs: Number(r.interval_ms),
      stale: r.stale === true,
    }));
  }
}
