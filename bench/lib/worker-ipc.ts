// Request and reply over the IPC channel of a forked bench process. The
// orchestrator sends one request at a time and waits for its reply; a worker
// may also send progress lines, which the orchestrator prints to stderr.
import { fork, type ChildProcess } from 'node:child_process';

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

interface Progress {
  progress: string;
}

/** A forked bench process that answers requests. */
export class Worker {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: string | undefined;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (message: Reply | Progress) => {
      if ('progress' in message) {
        process.stderr.write(`  ${message.progress}\n`);
        return;
      }
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(`${name}: ${message.error}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = `${name} exited with ${code ?? signal}`;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(this.exited));
      this.waiting.clear();
    });
  }

  /** Forks the compiled script `file` with `args` and an IPC channel; its output goes to ours. */
  static start(name: string, file: string, args: string[] = [], execArgv: string[] = []): Worker {
    return new Worker(name, fork(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv }));
  }

  /** The process id, for reading its memory. */
  get pid(): number {
    return this.child.pid!;
  }

  /** Sends `message` and resolves with the worker's result; rejects with its error. */
  request<T>(message: object): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...message, id });
    });
  }

  /** Asks the worker to exit, and kills it if it has not after `timeoutMs`. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    this.child.disconnect();
    await exited;
    clearTimeout(timer);
  }
}

/** A worker's request handler, by the request's `type`. */
export type Handlers = Record<string, (request: Record<string, unknown>) => Promise<unknown>>;

/**
 * Serves requests from the parent with `handlers` until the parent closes the
 * channel (or dies), then exits: no worker outlives the orchestrator.
 */
export function serveRequests(handlers: Handlers): void {
  if (!process.send) throw new Error('a bench worker must be started by the orchestrator (child_process.fork)');
  process.on('message', (message: { id: number; type: string }) => {
    const handler = handlers[message.type];
    const reply = (r: Omit<Reply, 'id'>) => process.send!({ id: message.id, ...r });
    if (!handler) {
      reply({ ok: false, error: `unknown request ${message.type}` });
      return;
    }
    handler(message as unknown as Record<string, unknown>).then(
      (result) => reply({ ok: true, result }),
      (err: unknown) => reply({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

/** Sends one progress line to the orchestrator. */
export function reportProgress(line: string): void {
  process.send?.({ progress: line });
}
