/**
 * Serialised watch events by object: the registry hands every watcher of a prefix the same decoded object
 * for a store event, so each event is stringified once however many watches carry it.
 */
const watchLines = new WeakMap<object, Map<string, string>>();
export function watchLine(type: string, object: unknown): string {
  if (typeof object !== 'object' || object === null) return JSON.stringify({ type, object }) + '\n';
  let byType = watchLines.get(object);
  if (!byType) watchLines.set(object, (byType = new Map()));
  let line = byType.get(type);
  if (line === undefined) byType.set(type, (line = JSON.stringify({ type, object }) + '\n'));
  return line;
}
