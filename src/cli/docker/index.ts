/** Docker-like client verbs over the Docker Engine API. */
export async function runDockerVerb(verb: string, _argv: string[]): Promise<number> {
  process.stderr.write(`skiff ${verb}: not implemented yet\n`);
  return 1;
}
