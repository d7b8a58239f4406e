/** One JSON line per event on stdout; the fields never include a token. */
export type Logger = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

const ORDER = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/** A logger that writes lines at `minLevel` and above. */
export function createLogger(minLevel: keyof typeof ORDER): Logger {
  return (level, msg, fields = {}) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + '\n');
  };
}
