// Registers every module and builds the schema.
import { builder } from '../builder.ts';
import './enums.ts';
import './user.ts';
import './job.ts';
import './processor.ts';
import './lease.ts';
import './queue.ts';
import './rules.ts';
import './schedule.ts';
import './live.ts';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

export const schema = builder.toSchema({ sortSchema: false });
