// The JSON scalar (graphql-scalars') with a bound on nesting. JSON.parse reads any depth, but
// everything after it — canonical JSON, storage, the response — recurses, and a payload a
// few thousand levels deep (well within the size limit) overflows the stack there.
import { GraphQLError, GraphQLScalarType } from 'graphql';
import { JSONResolver } from 'graphql-scalars';

/** Most levels of arrays and objects inside one JSON value; real payloads use a handful. */
export const MAX_JSON_DEPTH = 100;

const base = JSONResolver.toConfig();

export const BoundedJSON = new GraphQLScalarType({
  ...base,
  parseValue: (value) => withinDepth(base.parseValue!(value)),
  parseLiteral: (ast, variables) => withinDepth(base.parseLiteral!(ast, variables)),
});

function withinDepth(value: unknown): unknown {
  if (!jsonDepthAtMost(value, MAX_JSON_DEPTH)) {
    // No code here: it is a request error, and the error mapping makes it BAD_USER_INPUT
    // with GraphQL's prefix naming the variable and path.
    throw new GraphQLError(`JSON may be nested at most ${MAX_JSON_DEPTH} levels deep`);
  }
  return value;
}

/** Whether arrays and objects in `value` nest at most `limit` deep; iterative, so any depth is safe to ask about. */
export function jsonDepthAtMost(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > limit) return false;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return true;
}
