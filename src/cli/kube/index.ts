/** kubectl-like client verbs over the Kubernetes API. */
export async function runKubeVerb(verb: string, _argv: string[]): Promise<number> {
  process.stderr.write(`skiff ${verb}: not implemented yet\n`);
  return 1;
}
