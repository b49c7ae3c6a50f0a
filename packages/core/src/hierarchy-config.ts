import { DEFAULT_RUN_CONFIG, type RunConfig } from './config.js';
import { fail, integer, list, str } from './config-fields.js';

/** The role that is a learner of a parent and the trainer of its own learners. */
export const AGGREGATOR_ROLE = 'aggregator';

/** The strategies an aggregator may run: those whose aggregate is the example-weighted mean. */
const HIERARCHICAL_STRATEGIES: readonly string[] = ['fedavg', 'fedprox'];

/**
 * `node.parent` (a URL or a list of them), `node.parentToken` and `node.parentMaxExamples`, as an
 * aggregator's uplink takes them.
 */
export function parentOf(
  node: Record<string, unknown>,
): Pick<RunConfig['node'], 'parent' | 'parentToken' | 'parentMaxExamples'> {
  const role = node.role ?? DEFAULT_RUN_CONFIG.node.role;
  if (node.parent === undefined) {
    if (role === AGGREGATOR_ROLE)
      fail('node.parent', "set for an aggregator (its parent's WebSocket URL, or a list of them)", undefined);
    for (const key of ['parentToken', 'parentMaxExamples'])
      if (node[key] !== undefined) fail(`node.${key}`, 'set only with node.parent', node[key]);
    return {};
  }
  if (role !== AGGREGATOR_ROLE)
    fail(
      'node.parent',
      `set only with node.role ${AGGREGATOR_ROLE} (got role ${JSON.stringify(role)})`,
      node.parent,
    );
  const urls = typeof node.parent === 'string' ? [node.parent] : list(node.parent, 'node.parent');
  if (urls.length === 0) fail('node.parent', 'at least one URL', node.parent);
  const parent = urls.map((url, i) => {
    const where = typeof node.parent === 'string' ? 'node.parent' : `node.parent[${i}]`;
    const text = str(url, where);
    if (!/^wss?:\/\/./.test(text)) fail(where, 'a ws:// or wss:// URL', text);
    return text;
  });
  return {
    parent,
    ...(node.parentToken === undefined ? {} : { parentToken: str(node.parentToken, 'node.parentToken') }),
    ...(node.parentMaxExamples === undefined
      ? {}
      : { parentMaxExamples: integer(node.parentMaxExamples, 'node.parentMaxExamples', 1) }),
  };
}

/**
 * What an aggregator cannot do: its rounds are its parent's, and its aggregate must compose with
 * its siblings' (hierarchyProblem checks a strategy module's when it is loaded).
 */
export function checkAggregator(config: RunConfig): void {
  const fed = config.federation;
  const why = 'at an aggregator';
  if ('name' in fed.strategy && !HIERARCHICAL_STRATEGIES.includes(fed.strategy.name))
    fail(
      'federation.strategy.name',
      `fedavg or fedprox ${why} (a weighted mean composes over levels; robust aggregators and server optimisers run at the root only)`,
      fed.strategy.name,
    );
  if (fed.schedule.name !== 'sync')
    fail('federation.schedule.name', `sync ${why} (its rounds are its parent's)`, fed.schedule.name);
  if (fed.secureAggregation !== undefined)
    fail(
      'federation.secureAggregation',
      `absent ${why} (secure aggregation does not pass through levels)`,
      'set',
    );
  if (fed.privacy !== undefined)
    fail('federation.privacy', `absent ${why} (differential privacy is added once, at the root)`, 'set');
  if (fed.federatedEvaluation)
    fail('federation.federatedEvaluation', `false ${why} (its parent asks it to evaluate)`, true);
}
