import type { AadBackendAuthLogger } from '../../../lib/core/types.js';

export interface RecordingLogger extends AadBackendAuthLogger {
  readonly lines: { level: string; message: string }[];
}

/** A logger that keeps every line, to count health messages. */
export function recordingLogger(): RecordingLogger {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
