/** `skiff server`: the control plane (Kubernetes API over the store) and, unless disabled, a node agent. */
export async function runServer(_argv: string[]): Promise<number> {
  process.stderr.write('skiff server: not implemented yet\n');
  return 1;
}
