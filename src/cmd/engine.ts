/** `skiff engine`: the container engine in the foreground, serving the Docker Engine API. */
export async function runEngine(_argv: string[]): Promise<number> {
  process.stderr.write('skiff engine: not implemented yet\n');
  return 1;
}
