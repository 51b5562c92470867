/**
 * What an operation costs to answer, with the values of its variables: the cost limit of
 * limits.ts, enforced once the variables are known (a validation rule sees only the document,
 * so `jobs(first: $n)` would count as one job). Pure.
 *
 * The formula is GraphQL Armor's, which Zeus used before: 1 per scalar field, 2 per object,
 * children ×1.5 per level of nesting, and a field with a `first` argument × that many. On top,
 * a field whose resolver reads Redis costs `RESOLVER_COST` more, each time it is resolved
 * (`webhookDeliveries` on each job of a page, `system` under each alias). Fragments count as
 * their fields, where they are spread; introspection is free (its own limits are in
 * limits.ts).
 *
 * Over HTTP one request may batch several operations: they share one budget (`CostBudget`),
 * so a batch costs what its operations cost together.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { limitError, REQUEST_LIMITS } from './limits.ts';

export const SCALAR_COST = 1;
export const OBJECT_COST = 2;
export const DEPTH_COST_FACTOR = 1.5;
/** Extra cost of a field whose resolver reads Redis. */
export const RESOLVER_COST = 10;

/** Fields whose resolvers read Redis, as `Type.field`. */
export const REDIS_FIELDS: ReadonlySet<string> = new Set([
  'Query.job',
  'Query.jobs',
  'Query.batch',
  'Query.system',
  'Query.workers',
  'Job.webhookDeliveries',
  'Worker.currentJob',
  'Worker.currentJobId',
]);

/**
 * The cost of the operation `operationName` (or the only one) of a validated document, with
 * `variables` as sent. Null when the document has no such operation (Apollo and graphql-ws
 * say so themselves).
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): number | null {
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION,
  );
  const operation =
    operationName == null
      ? operations.length === 1
        ? operations[0]
        : undefined
      : operations.find((candidate) => candidate.name?.value === operationName);
  if (operation === undefined) return null;
  const root = schema.getRootType(operation.operation);
  if (root == null) return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  const given = variables ?? {};
  const variableValue = (name: string): unknown => {
    if (Object.hasOwn(given, name)) return given[name];
    const definition = operation.variableDefinitions?.find((v) => v.variable.name.value === name);
    return intValue(definition?.defaultValue);
  };

  /** The selections' cost at one level (fragments spread in place), under `parent`. */
  const selectionsCost = (
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType,
    spread: ReadonlySet<string>,
  ): number => {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        cost += fieldCost(selection, parent, spread);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type =
          selection.typeCondition === undefined
            ? parent
            : schema.getType(selection.typeCondition.name.value);
        if (type != null && isComposite(type)) {
          cost += selectionsCost(selection.selectionSet, type, spread);
        }
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A cycle is refused by validation; never follow one here either.
        if (fragment === undefined || spread.has(name)) continue;
        const type = schema.getType(fragment.typeCondition.name.value);
        if (type != null && isComposite(type)) {
          cost += selectionsCost(fragment.selectionSet, type, new Set([...spread, name]));
        }
      }
    }
    return cost;
  };

  const fieldCost = (
    field: FieldNode,
    parent: GraphQLNamedType,
    spread: ReadonlySet<string>,
  ): number => {
    const name = field.name.value;
    if (name.startsWith('__')) return name === '__typename' ? SCALAR_COST : 0;
    const definition = 'getInterfaces' in parent ? parent.getFields()[name] : undefined;
    const resolverCost = REDIS_FIELDS.has(`${parent.name}.${name}`) ? RESOLVER_COST : 0;
    if (field.selectionSet === undefined || definition === undefined) {
      return SCALAR_COST + resolverCost;
    }
    const type = schema.getType(namedTypeName(definition.type.toString()));
    const children =
      type !== undefined && isComposite(type)
        ? selectionsCost(field.selectionSet, type, spread) * DEPTH_COST_FACTOR
        : 0;
    return (OBJECT_COST + resolverCost + children) * pageSize(field, definition.args);
  };

  /** A `first` argument's value (literal, variable or default), or 1. */
  const pageSize = (
    field: FieldNode,
    args: readonly { readonly name: string; readonly defaultValue: unknown }[],
  ): number => {
    const argument = field.arguments?.find((arg) => arg.name.value === 'first');
    let value: unknown;
    if (argument === undefined) {
      value = args.find((arg) => arg.name === 'first')?.defaultValue;
    } else if (argument.value.kind === Kind.VARIABLE) {
      value = variableValue(argument.value.name.value);
      // An absent or null variable: the argument's default applies.
      value ??= args.find((arg) => arg.name === 'first')?.defaultValue;
    } else {
      value = intValue(argument.value);
    }
    return typeof value === 'number' && Number.isFinite(value) ? Math.max(1, value) : 1;
  };

  return selectionsCost(operation.selectionSet, root, new Set());
}

/*
 * Structural checks, not graphql-js's `isObjectType` & co.: those use `instanceof`, which fails
 * when the schema was built by another copy of graphql-js (its CommonJS and ES module builds are
 * two copies when a test runner loads one and a dependency the other).
 */

/** The name of the type under any list and non-null wrappers (`[Job!]!` → `Job`). */
function namedTypeName(type: string): string {
  return type.replace(/[[\]!]/g, '');
}

/** Object, interface (both have interfaces) or union (has types): a type with fields to select. */
function isComposite(type: GraphQLNamedType): boolean {
  return 'getInterfaces' in type || 'getTypes' in type;
}

/** An integer literal's value; undefined for anything else. */
function intValue(node: ValueNode | undefined): number | undefined {
  return node?.kind === Kind.INT ? Number(node.value) : undefined;
}

/** What is left to spend of one request's cost limit (shared by a batch's operations). */
export class CostBudget {
  constructor(private remainingCost: number) {}

  get remaining(): number {
    return this.remainingCost;
  }

  /** Spends `cost`; false (spending nothing) when that is more than is left. */
  spend(cost: number): boolean {
    if (cost > this.remainingCost) return false;
    this.remainingCost -= cost;
    return true;
  }
}

/** The error for an operation over what is left of the limit (HTTP 400 when it ends a request). */
export function costLimitError(cost: number): GraphQLError {
  const error = limitError('maxCost', Math.ceil(cost));
  return new GraphQLError(error.message, {
    extensions: { ...error.extensions, http: { status: 400 } },
  });
}

/**
 * Apollo's side: each operation's cost, with its variables, once it is resolved, charged to
 * its request's budget. Apollo gives each operation of a batch a shallow copy of the request's
 * context, so the budget is found by `requestOf(context)`: an object the copies share, made
 * once per HTTP request.
 */
export function costLimitPlugin<Context extends BaseContext>(
  schema: GraphQLSchema,
  requestOf: (context: Context) => object,
  maxCost: number = REQUEST_LIMITS.maxCost,
): ApolloServerPlugin<Context> {
  const budgets = new WeakMap<object, CostBudget>();
  return {
    requestDidStart: () =>
      Promise.resolve({
        didResolveOperation: ({ document, request, operationName, contextValue }) => {
          const cost = operationCost(schema, document, operationName, request.variables);
          if (cost === null) return Promise.resolve();
          const key = requestOf(contextValue);
          let budget = budgets.get(key);
          if (budget === undefined) {
            budget = new CostBudget(maxCost);
            budgets.set(key, budget);
          }
          if (!budget.spend(cost)) throw costLimitError(cost + (maxCost - budget.remaining));
          return Promise.resolve();
        },
      }),
  };
}
