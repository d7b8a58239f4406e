import { useMemo } from 'react';
import { create } from 'qrcode';

/** Modules of white border around the symbol, as the QR specification asks. */
const QUIET_ZONE = 4;

/** One horizontal run of dark modules: row, first column and length. */
interface Run {
  row: number;
  col: number;
  length: number;
}

/** The dark modules of `text`'s QR symbol (error correction M), as runs along each row. */
function darkRuns(text: string): { size: number; runs: Run[] } {
  const { modules } = create(text, { errorCorrectionLevel: 'M' });
  const { size, data } = modules;
  const runs: Run[] = [];
  for (let row = 0; row < size; row++) {
    let col = 0;
    while (col < size) {
      if (!data[row * size + col]) {
        col++;
        continue;
      }
      const start = col;
      while (col < size && data[row * size + col]) col++;
      runs.push({ row, col: start, length: col - start });
    }
  }
  return { size, runs };
}

/**
 * `text` as a QR code, drawn as SVG elements by React: one rect per run of dark
 * modules in user units of one module. The console's CSP allows no data: URL
 * or markup string from a renderer, so qrcode gives only the module matrix.
 */
export function QrCode({ text, label }: { text: string; label: string }) {
  const { size, runs } = useMemo(() => darkRuns(text), [text]);
  const side = size + 2 * QUIET_ZONE;
  return (
    <svg className="qr" role="img" aria-label={label} viewBox={`${-QUIET_ZONE} ${-QUIET_ZONE} ${side} ${side}`} shapeRendering="crispEdges" data-size={size}>
      <rect className="qr-background" x={-QUIET_ZONE} y={-QUIET_ZONE} width={side} height={side} fill="#ffffff" />
      {runs.map((r) => (
        <rect key={`${r.row}:${r.col}`} className="qr-module" x={r.col} y={r.row} width={r.length} height={1} fill="#000000" />
      ))}
    </svg>
  );
}
