// Peak resident memory of a process, from Linux's /proc. VmHWM is the
// high-water mark of VmRSS; writing 5 to clear_refs resets it (Linux 4.0+),
// which lets each phase report its own peak rather than the process's.
import { readFileSync, writeFileSync } from 'node:fs';

/** The peak RSS of `pid` in MB (VmHWM), or null where /proc does not tell. */
export function peakRssMb(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Resets the peak of `pid` to its current RSS; false when the kernel does not allow it. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
