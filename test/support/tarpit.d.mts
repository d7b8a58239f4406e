/** A running TCP tarpit (see tarpit.mjs). */
export interface Tarpit {
  port: number;
  /** http://127.0.0.1:port + path. */
  url(path: string): string;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** Starts a tarpit on an ephemeral loopback port. */
export function startTarpit(): Promise<Tarpit>;
