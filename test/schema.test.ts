// The committed schema.graphql is the printed Pothos schema; regenerate with
// `npm run schema:print` when the API changes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema, schemaPath } from '../src/graphql/print.ts';

describe('schema.graphql', () => {
  it('matches the schema the code builds (run `npm run schema:print` to update)', () => {
    expect(readFileSync(schemaPath, 'utf8')).toBe(printedSchema());
  });

  it('keeps every operation and type the contract names', () => {
    const sdl = printedSchema();
    for (const name of [
      'createUser(input: CreateUserInput!): CreateUserPayload!',
      'me: User!',
      'users: [User!]!',
      'submitJob(input: SubmitJobInput!): Job!',
      'submitJobs(input: [SubmitJobInput!]!): [Job!]!',
      'cancelJob(jobId: String!, userId: ID): Job!',
      'job(jobId: String!, userId: ID): Job',
      'queueState: QueueState!',
      'addProcessors(count: Int!): [Processor!]!',
      'removeProcessor(drain: Boolean = true, id: ID!): Processor!',
      'jobProgress(jobId: String!, userId: ID): JobProgressEvent!',
      'myQueue: UserQueueSnapshot!',
      'jobCompleted: Job!',
      'enum JobState',
      'enum ProcessorKind',
      'enum ProcessorState',
      'enum Role',
    ]) {
      expect(sdl).toContain(name);
    }
    expect(sdl).toMatch(/jobs\(after: String, before: String, filter: JobFilter, first: Int, last: Int\): JobConnection!/);
  });
});
