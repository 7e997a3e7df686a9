/**
 * Remembers `names` in `process.env` as they are now; the function returned puts them back
 * (deleting those that were unset), as often as it is called.
 */
export function saveEnv(names: readonly string[]): () => void {
  const saved = new Map(names.map((name) => [name, process.env[name]] as const));
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
