/**
 * One scheduling decision, pure: filter every node, summarise failures exactly like kube-scheduler's
 * FitError, score the feasible nodes and pick the best (ties broken by the supplied random source, as
 * upstream picks uniformly among the best).
 */
import { Pod } from '../client/types';
import { NodeInfo } from './nodeinfo';
import { runFilters, DEFAULT_FILTERS } from './filters';
import { totalScores, DEFAULT_SCORERS } from './scores';

export type ScheduleResult =
  | { ok: true; node: string; feasible: number; scores: Record<string, number> }
  | { ok: false; message: string; reasons: Record<string, string[]> };

export const NO_NODES_MESSAGE = 'no nodes available to schedule pods';

/** Upstream's FitError.Error(): "0/N nodes are available: <count reason, sorted as strings>." */
export function fitErrorMessage(numAllNodes: number, reasonsByNode: Record<string, string[]>): string {
  const histogram = new Map<string, number>();
  for (const reasons of Object.values(reasonsByNode)) for (const r of reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
  const parts = [...histogram].map(([reason, n]) => `${n} ${reason}`);
  // Go's sort.Strings: byte-wise order of the whole "count reason" string.
  parts.sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  return `0/${numAllNodes} nodes are available: ${parts.join(', ')}.`;
}

export function schedulePod(pod: Pod, nodes: NodeInfo[], opts: { random?: () => number; filters?: typeof DEFAULT_FILTERS; scorers?: typeof DEFAULT_SCORERS } = {}): ScheduleResult {
  if (nodes.length === 0) return { ok: false, message: NO_NODES_MESSAGE, reasons: {} };
  const feasible: NodeInfo[] = [];
  const reasons: Record<string, string[]> = {};
  for (const n of nodes) {
    const r = runFilters(pod, n, opts.filters);
    if (r.length) reasons[n.node.metadata.name!] = r;
    else feasible.push(n);
  }
  if (feasible.length === 0) return { ok: false, message: fitErrorMessage(nodes.length, reasons), reasons };
  const totals = feasible.length === 1 ? [0] : totalScores(pod, feasible, opts.scorers);
  const best = Math.max(...totals);
  const candidates = feasible.filter((_, i) => totals[i] === best);
  const pick = candidates[Math.min(candidates.length - 1, Math.floor((opts.random ?? Math.random)() * candidates.length))];
  const scores: Record<string, number> = {};
  feasible.forEach((n, i) => (scores[n.node.metadata.name!] = totals[i]));
  return { ok: true, node: pick.node.metadata.name!, feasible: feasible.length, scores };
}
