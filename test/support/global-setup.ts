import 'vitest';
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startPostgres();
  console.log(`tests use Postgres from ${server.kind}`);
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
