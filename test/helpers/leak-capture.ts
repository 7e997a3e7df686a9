import createDebug from 'debug';
import { format, inspect } from 'node:util';

/**
 * Routes the `debug` module's output for `aad-backend-auth*` into `lines` (what an
 * operator with log access could read); returns the function that puts it back.
 */
export function captureDebugOutput(lines: string[]): () => void {
  const previousDebug = createDebug.disable();
  createDebug.enable('aad-backend-auth*');
  const previousLog = createDebug.log;
  createDebug.log = (...args: unknown[]) => lines.push(`debug module: ${format(...args)}`);
  return () => {
    createDebug.log = previousLog;
    createDebug.disable();
    if (previousDebug !== '') createDebug.enable(previousDebug);
  };
}

/** Everything `value` shows to `inspect`, `JSON.stringify`, `String()` and, for errors, its message, stack and causes. */
export function captureArtefact(artefacts: string[], value: unknown, label: string): void {
  artefacts.push(`${label} inspect: ${inspect(value, { depth: Infinity, showHidden: true })}`);
  try {
    artefacts.push(`${label} json: ${JSON.stringify(value)}`);
  } catch (error) {
    artefacts.push(`${label} json threw: ${(error as Error).message}`);
  }
  artefacts.push(`${label} string: ${String(value)}`);
  if (value instanceof Error) {
    artefacts.push(`${label} message: ${value.message}`, `${label} stack: ${value.stack ?? ''}`);
    if (value.cause !== undefined) captureArtefact(artefacts, value.cause, `${label} cause`);
  }
}
